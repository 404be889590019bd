// The tokens of condition expressions (see core/expression.h) and the lexer that reads
// them one at a time. A lexer reads one text and is not shared between threads.
// Internal to core/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/internal/value_path.h"
#include "core/status.h"

namespace ledgerflow::core::internal {

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

// null, true/false, an integer that fits int64, any other number, a string.
using Literal = std::variant<std::monostate, bool, int64_t, double, std::string>;

enum class TokenKind { kEnd, kLiteral, kPath, kNot, kAnd, kOr, kCompare, kOpen, kClose };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  // Byte offset into the text; the text's length for kEnd.
  size_t position = 0;
  // The token as written (points into the lexer's text).
  std::string_view spelling;
  Literal literal;                // kLiteral
  ValuePath path;                 // kPath
  CompareOp op = CompareOp::kEq;  // kCompare
};

// A token's spelling for an error message, cut short so that a long string literal
// does not make the message long.
std::string ShownSpelling(std::string_view spelling);

class ExpressionLexer {
 public:
  // `text` must outlive the lexer and the tokens it returns.
  explicit ExpressionLexer(std::string_view text) : text_(text) {}

  // Reads the next token into `*token` (kEnd once the text is used up). Returns
  // InvalidArgument naming the position of a character that starts no token, an
  // unterminated string or unknown escape, a malformed or out-of-range number, or a
  // malformed path (see ScanPath).
  Status Next(Token* token);

 private:
  Status LexString(Token* token);
  Status LexNumber(Token* token);
  // true, false, null, or a path.
  Status LexWord(Token* token);

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace ledgerflow::core::internal
