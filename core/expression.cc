#include "core/expression.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <variant>

#include "core/internal/expression_lexer.h"
#include "core/internal/value_path.h"
#include "core/json_patch.h"

namespace ledgerflow::core {
namespace {

using internal::AtPosition;
using internal::CompareOp;
using internal::Literal;
using internal::Token;
using internal::TokenKind;

}  // namespace

struct Expression::Node {
  enum class Kind { kLiteral, kPath, kNot, kAnd, kOr, kCompare };
  Kind kind = Kind::kLiteral;
  // Where the node starts (an operator's own position for kCompare), for errors.
  size_t position = 0;
  Literal literal;
  internal::ValuePath path;
  CompareOp op = CompareOp::kEq;
  // Indices into nodes_ of the operands, all smaller than this node's own.
  std::vector<size_t> operands;
};

Expression::Expression() = default;
Expression::Expression(const Expression&) = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(const Expression&) = default;
Expression& Expression::operator=(Expression&&) noexcept = default;
Expression::~Expression() = default;

// Recursive descent over a one-token lookahead. Recursion is bounded by the nesting
// limit; chains of && and || become one node each rather than a deep tree.
class ExpressionParser {
 public:
  explicit ExpressionParser(std::string_view text) : text_(text), lexer_(text) {}

  StatusOr<Expression> Run() {
    if (text_.size() > kMaxExpressionLength) {
      return InvalidArgument("expression is " + std::to_string(text_.size()) +
                             " bytes long; the limit is " + std::to_string(kMaxExpressionLength));
    }
    result_.text_ = std::string(text_);
    size_t root = 0;
    Status status = Advance();
    if (status.ok()) status = ParseOr(0, &root);
    if (status.ok() && token_.kind != TokenKind::kEnd) status = Unexpected();
    if (!status.ok()) return status;
    return std::move(result_);
  }

 private:
  using Node = Expression::Node;

  Status ParseOr(int depth, size_t* out) { return ParseChain(depth, Node::Kind::kOr, out); }

  // `kind` is kOr (operands are && chains) or kAnd (operands are comparisons).
  Status ParseChain(int depth, Node::Kind kind, size_t* out) {
    const bool is_or = kind == Node::Kind::kOr;
    const TokenKind separator = is_or ? TokenKind::kOr : TokenKind::kAnd;
    Node chain = NewNode(kind);
    while (true) {
      size_t operand = 0;
      LF_RETURN_IF_ERROR(is_or ? ParseChain(depth, Node::Kind::kAnd, &operand)
                               : ParseComparison(depth, &operand));
      chain.operands.push_back(operand);
      if (token_.kind != separator) break;
      LF_RETURN_IF_ERROR(Advance());
    }
    *out = chain.operands.size() == 1 ? chain.operands[0] : Add(std::move(chain));
    return Status::Ok();
  }

  Status ParseComparison(int depth, size_t* out) {
    size_t left = 0;
    LF_RETURN_IF_ERROR(ParseUnary(depth, &left));
    if (token_.kind != TokenKind::kCompare) {
      *out = left;
      return Status::Ok();
    }
    Node compare = NewNode(Node::Kind::kCompare);
    compare.op = token_.op;
    LF_RETURN_IF_ERROR(Advance());
    size_t right = 0;
    LF_RETURN_IF_ERROR(ParseUnary(depth, &right));
    if (token_.kind == TokenKind::kCompare) {
      return InvalidArgument(Unexpected().message() +
                             ": comparisons do not chain (join them with && instead)");
    }
    compare.operands = {left, right};
    *out = Add(std::move(compare));
    return Status::Ok();
  }

  Status ParseUnary(int depth, size_t* out) {
    if (token_.kind != TokenKind::kNot) return ParsePrimary(depth, out);
    Node negation = NewNode(Node::Kind::kNot);
    LF_RETURN_IF_ERROR(Nest(depth));
    LF_RETURN_IF_ERROR(Advance());
    size_t operand = 0;
    LF_RETURN_IF_ERROR(ParseUnary(depth + 1, &operand));
    negation.operands = {operand};
    *out = Add(std::move(negation));
    return Status::Ok();
  }

  Status ParsePrimary(int depth, size_t* out) {
    switch (token_.kind) {
      case TokenKind::kLiteral: {
        Node literal = NewNode(Node::Kind::kLiteral);
        literal.literal = std::move(token_.literal);
        *out = Add(std::move(literal));
        return Advance();
      }
      case TokenKind::kPath: {
        NoteStep(internal::StepIdOf(token_.path));
        Node path = NewNode(Node::Kind::kPath);
        path.path = std::move(token_.path);
        *out = Add(std::move(path));
        return Advance();
      }
      case TokenKind::kOpen:
        LF_RETURN_IF_ERROR(Nest(depth));
        LF_RETURN_IF_ERROR(Advance());
        LF_RETURN_IF_ERROR(ParseOr(depth + 1, out));
        if (token_.kind != TokenKind::kClose) {
          return token_.kind == TokenKind::kEnd
                     ? InvalidArgument("expected ')'" + AtPosition(token_.position))
                     : Unexpected();
        }
        return Advance();
      case TokenKind::kClose:
        return Unexpected();
      default:
        return InvalidArgument("expected an operand" + AtPosition(token_.position));
    }
  }

  Status Nest(int depth) const {
    if (depth + 1 <= kMaxExpressionNesting) return Status::Ok();
    return InvalidArgument("expression nests deeper than " + std::to_string(kMaxExpressionNesting) +
                           " levels" + AtPosition(token_.position));
  }

  Status Unexpected() const {
    return InvalidArgument("unexpected '" + internal::ShownSpelling(token_.spelling) + "'" +
                           AtPosition(token_.position));
  }

  // A node of `kind` at the current token.
  Node NewNode(Node::Kind kind) const {
    Node node;
    node.kind = kind;
    node.position = token_.position;
    return node;
  }

  size_t Add(Node node) {
    result_.nodes_.push_back(std::move(node));
    return result_.nodes_.size() - 1;
  }

  void NoteStep(std::string_view id) {
    auto& steps = result_.referenced_steps_;
    if (!id.empty() && std::find(steps.begin(), steps.end(), id) == steps.end()) {
      steps.emplace_back(id);
    }
  }

  Status Advance() { return lexer_.Next(&token_); }

  std::string_view text_;
  internal::ExpressionLexer lexer_;
  Token token_;
  Expression result_;
};

// Walks the nodes from the root; its recursion is as deep as the parse tree, which
// the nesting limit bounds.
class ExpressionEvaluator {
 public:
  ExpressionEvaluator(const Expression& expression, const json::Value& context)
      : nodes_(expression.nodes_), context_(context) {}

  StatusOr<bool> Run() {
    if (nodes_.empty()) return Internal("evaluating a moved-from expression");
    StatusOr<Operand> result = Eval(nodes_.size() - 1);
    if (!result.ok()) return result.status();
    return Truthy(result->value());
  }

 private:
  using Node = Expression::Node;

  // A value of the context, or one made here (a literal, a boolean result). A string
  // literal is referenced, not copied: the expression outlives the evaluation.
  struct Operand {
    const json::Value* in_context = nullptr;
    json::Value made;
    const json::Value& value() const { return in_context ? *in_context : made; }
  };

  static Operand Made(json::Value v) {
    Operand operand;
    operand.made = std::move(v);
    return operand;
  }

  static bool Truthy(const json::Value& v) {
    if (v.IsBool()) return v.GetBool();
    if (v.IsNumber()) return v.GetDouble() != 0;
    if (v.IsString()) return v.GetStringLength() > 0;
    return !v.IsNull();
  }

  static json::Value FromLiteral(const Literal& literal) {
    if (const bool* b = std::get_if<bool>(&literal)) return json::Value(*b);
    if (const int64_t* n = std::get_if<int64_t>(&literal)) return json::Value(*n);
    if (const double* d = std::get_if<double>(&literal)) return json::Value(*d);
    if (const std::string* s = std::get_if<std::string>(&literal)) {
      return json::Value(
          rapidjson::StringRef(s->data(), static_cast<rapidjson::SizeType>(s->size())));
    }
    return json::Value();
  }

  template <typename T>
  static int Order(T a, T b) {
    return a < b ? -1 : (b < a ? 1 : 0);
  }

  // Integers compare exactly; only a decimal on either side makes it a double compare.
  static int CompareNumbers(const json::Value& a, const json::Value& b) {
    if (a.IsDouble() || b.IsDouble()) return Order(a.GetDouble(), b.GetDouble());
    if (a.IsInt64() && b.IsInt64()) return Order(a.GetInt64(), b.GetInt64());
    if (a.IsUint64() && b.IsUint64()) return Order(a.GetUint64(), b.GetUint64());
    return a.IsInt64() ? -1 : 1;  // one is negative, the other above INT64_MAX
  }

  StatusOr<bool> Compare(const Node& node, const json::Value& a, const json::Value& b) const {
    if (node.op == CompareOp::kEq) return JsonEquals(a, b);
    if (node.op == CompareOp::kNe) return !JsonEquals(a, b);
    int order = 0;
    if (a.IsNumber() && b.IsNumber()) {
      order = CompareNumbers(a, b);
    } else if (a.IsString() && b.IsString()) {
      order = Order(std::string_view(a.GetString(), a.GetStringLength()),
                    std::string_view(b.GetString(), b.GetStringLength()));
    } else {
      return InvalidArgument(std::string("cannot compare ") + json::TypeName(a) + " with " +
                             json::TypeName(b) + AtPosition(node.position));
    }
    switch (node.op) {
      case CompareOp::kLt:
        return order < 0;
      case CompareOp::kLe:
        return order <= 0;
      case CompareOp::kGt:
        return order > 0;
      default:
        return order >= 0;
    }
  }

  StatusOr<Operand> Eval(size_t index) const {
    const Node& node = nodes_[index];
    switch (node.kind) {
      case Node::Kind::kLiteral:
        return Made(FromLiteral(node.literal));
      case Node::Kind::kPath: {
        Operand found;
        found.in_context = internal::ResolvePath(context_, node.path);
        return found;
      }
      case Node::Kind::kNot: {
        StatusOr<Operand> operand = Eval(node.operands[0]);
        if (!operand.ok()) return operand.status();
        return Made(json::Value(!Truthy(operand->value())));
      }
      case Node::Kind::kAnd:
      case Node::Kind::kOr: {
        // && stops at the first false operand, || at the first true one.
        const bool decisive = node.kind == Node::Kind::kOr;
        for (size_t operand_index : node.operands) {
          StatusOr<Operand> operand = Eval(operand_index);
          if (!operand.ok()) return operand.status();
          if (Truthy(operand->value()) == decisive) return Made(json::Value(decisive));
        }
        return Made(json::Value(!decisive));
      }
      case Node::Kind::kCompare: {
        StatusOr<Operand> left = Eval(node.operands[0]);
        if (!left.ok()) return left.status();
        StatusOr<Operand> right = Eval(node.operands[1]);
        if (!right.ok()) return right.status();
        StatusOr<bool> result = Compare(node, left->value(), right->value());
        if (!result.ok()) return result.status();
        return Made(json::Value(*result));
      }
    }
    return Made(json::Value());
  }

  const std::vector<Node>& nodes_;
  const json::Value& context_;
};

StatusOr<Expression> ParseExpression(std::string_view text) { return ExpressionParser(text).Run(); }

StatusOr<bool> Evaluate(const Expression& expression, const json::Value& context) {
  return ExpressionEvaluator(expression, context).Run();
}

}  // namespace ledgerflow::core
