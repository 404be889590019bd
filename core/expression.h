// The expressions of `condition` steps: a small language evaluated here, never by a
// shell. An Expression is a parsed, immutable value: copyable, cheap to move, and safe
// to evaluate from several threads at once.
//
// Grammar, loosest binding first:
//   or         := and ( "||" and )*
//   and        := comparison ( "&&" comparison )*
//   comparison := unary [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) unary ]
//   unary      := "!" unary | primary
//   primary    := literal | path | "(" or ")"
// Comparisons do not chain: `a < b < c` is a parse error (write `a < b && b < c`).
// Literals: numbers (-12, 3.5, 1e-3), strings in single or double quotes with the
// escapes \" \' \\ \n \t, true, false, null.
// Paths: `input.<name>...`, `steps.<step_id>.output...`, `steps.<step_id>.status`.
// Names and step ids are made of letters, digits, '_' and '-'; a numeric segment
// indexes an array (`input.items.0`).
//
// Evaluation against a context {"input": ..., "steps": {"<id>": {"output": ...,
// "status": "completed"}}}:
//   - a path that resolves to nothing is null, not an error;
//   - == and != compare any two values deeply: numbers by value (1 == 1.0), objects
//     regardless of member order, values of different types are unequal;
//   - < <= > >= need two numbers or two strings (compared byte by byte); anything
//     else is an error;
//   - ! && || read their operands by truthiness and give true or false; && and ||
//     stop at the first operand that decides, so the others are not evaluated;
//   - truthiness: false, null, 0 and "" are false; everything else (including empty
//     arrays and objects) is true. The expression's result is read the same way.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace ledgerflow::core {

inline constexpr size_t kMaxExpressionLength = 4096;
// Parentheses and '!' each open one level.
inline constexpr int kMaxExpressionNesting = 64;

class Expression {
 public:
  Expression(const Expression&);
  Expression(Expression&&) noexcept;
  Expression& operator=(const Expression&);
  Expression& operator=(Expression&&) noexcept;
  ~Expression();

  // The text it was parsed from.
  const std::string& text() const { return text_; }
  // Distinct step ids named by `steps.<id>` paths, in order of first appearance.
  const std::vector<std::string>& referenced_steps() const { return referenced_steps_; }

 private:
  friend class ExpressionParser;
  friend class ExpressionEvaluator;
  struct Node;

  Expression();

  std::string text_;
  // Operands come before the operators that use them; the root is the last node.
  std::vector<Node> nodes_;
  std::vector<std::string> referenced_steps_;
};

// Parses `text`. Returns InvalidArgument naming the byte position of the problem, e.g.
//   expected an operand at position 7
//   unexpected ')' at position 12
//   unterminated string starting at position 3
//   unknown name 'foo' at position 0: paths start with input. or steps.
// and for text longer than kMaxExpressionLength or nested deeper than
// kMaxExpressionNesting.
StatusOr<Expression> ParseExpression(std::string_view text);

// The truthiness of `expression` evaluated against `context` (see the rules above).
// Returns InvalidArgument for an ordering comparison of other operands than two
// numbers or two strings, e.g. "cannot compare string with number at position 14",
// where the position is the operator's.
StatusOr<bool> Evaluate(const Expression& expression, const json::Value& context);

}  // namespace ledgerflow::core
