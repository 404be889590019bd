#include "core/internal/expression_lexer.h"

#include <charconv>
#include <utility>

namespace ledgerflow::core::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string ShownSpelling(std::string_view spelling) { return Excerpt(spelling, 24); }

Status ExpressionLexer::Next(Token* token) {
  while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                 text_[pos_] == '\r')) {
    ++pos_;
  }
  *token = Token();
  token->position = pos_;
  if (pos_ >= text_.size()) return Status::Ok();
  const char c = text_[pos_];
  const char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
  auto symbol = [&](TokenKind kind, size_t length, CompareOp op = CompareOp::kEq) {
    token->kind = kind;
    token->op = op;
    token->spelling = text_.substr(pos_, length);
    pos_ += length;
    return Status::Ok();
  };
  switch (c) {
    case '(':
      return symbol(TokenKind::kOpen, 1);
    case ')':
      return symbol(TokenKind::kClose, 1);
    case '!':
      return next == '=' ? symbol(TokenKind::kCompare, 2, CompareOp::kNe)
                         : symbol(TokenKind::kNot, 1);
    case '<':
      return next == '=' ? symbol(TokenKind::kCompare, 2, CompareOp::kLe)
                         : symbol(TokenKind::kCompare, 1, CompareOp::kLt);
    case '>':
      return next == '=' ? symbol(TokenKind::kCompare, 2, CompareOp::kGe)
                         : symbol(TokenKind::kCompare, 1, CompareOp::kGt);
    case '=':
      if (next == '=') return symbol(TokenKind::kCompare, 2, CompareOp::kEq);
      return InvalidArgument("unexpected '='" + AtPosition(pos_) + " (did you mean '=='?)");
    case '&':
    case '|':
      if (next == c) return symbol(c == '&' ? TokenKind::kAnd : TokenKind::kOr, 2);
      return InvalidArgument(std::string("unexpected '") + c + "'" + AtPosition(pos_) +
                             " (did you mean '" + c + c + "'?)");
    case '"':
    case '\'':
      return LexString(token);
    default:
      break;
  }
  if (IsDigit(c) || (c == '-' && IsDigit(next))) return LexNumber(token);
  if (IsPathChar(c) && c != '-') return LexWord(token);
  return InvalidArgument("unexpected " + ShownChar(c) + AtPosition(pos_));
}

Status ExpressionLexer::LexString(Token* token) {
  const size_t start = pos_;
  const char quote = text_[pos_++];
  std::string value;
  while (true) {
    if (pos_ >= text_.size())
      return InvalidArgument("unterminated string starting" + AtPosition(start));
    char c = text_[pos_];
    if (c == quote) break;
    if (c == '\\') {
      if (pos_ + 1 >= text_.size()) {
        return InvalidArgument("unterminated string starting" + AtPosition(start));
      }
      switch (char e = text_[pos_ + 1]) {
        case '"':
        case '\'':
        case '\\':
          c = e;
          break;
        case 'n':
          c = '\n';
          break;
        case 't':
          c = '\t';
          break;
        default: {
          // '\x' for a printable x, else the byte by its value.
          std::string shown = ShownChar(e);
          if (shown[0] == '\'') shown.insert(1, "\\");
          return InvalidArgument("unknown escape " + shown + AtPosition(pos_) +
                                 " (known: \\\" \\' \\\\ \\n \\t)");
        }
      }
      ++pos_;
    }
    value += c;
    ++pos_;
  }
  ++pos_;  // the closing quote
  token->kind = TokenKind::kLiteral;
  token->literal = std::move(value);
  token->spelling = text_.substr(start, pos_ - start);
  return Status::Ok();
}

Status ExpressionLexer::LexNumber(Token* token) {
  const size_t start = pos_;
  auto digits = [&] {
    const size_t from = pos_;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    return pos_ > from;
  };
  if (text_[pos_] == '-') ++pos_;
  digits();
  bool integral = true;
  bool well_formed = true;
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    integral = false;
    well_formed = digits();
  }
  if (well_formed && pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    integral = false;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    well_formed = digits();
  }
  // `1.2.3` or `12abc` is neither a number nor a path.
  if (!well_formed || (pos_ < text_.size() && (IsPathChar(text_[pos_]) || text_[pos_] == '.'))) {
    return InvalidArgument("malformed number" + AtPosition(start));
  }
  const char* first = text_.data() + start;
  const char* last = text_.data() + pos_;
  token->kind = TokenKind::kLiteral;
  token->spelling = text_.substr(start, pos_ - start);
  if (int64_t n = 0; integral && std::from_chars(first, last, n).ec == std::errc()) {
    token->literal = n;
    return Status::Ok();
  }
  double d = 0;
  if (std::from_chars(first, last, d).ec != std::errc()) {
    return InvalidArgument("number out of range" + AtPosition(start));
  }
  token->literal = d;
  return Status::Ok();
}

Status ExpressionLexer::LexWord(Token* token) {
  const size_t start = pos_;
  size_t end = pos_;
  while (end < text_.size() && IsPathChar(text_[end])) ++end;
  const std::string_view word = text_.substr(start, end - start);
  const bool dotted = end < text_.size() && text_[end] == '.';
  if (!dotted && (word == "true" || word == "false" || word == "null")) {
    token->kind = TokenKind::kLiteral;
    if (word != "null") token->literal = word == "true";
    token->spelling = word;
    pos_ = end;
    return Status::Ok();
  }
  StatusOr<ValuePath> path = ScanPath(text_, &pos_, PathRoots::kInputAndSteps);
  if (!path.ok()) return path.status();
  token->kind = TokenKind::kPath;
  token->path = std::move(path).value();
  token->spelling = text_.substr(start, pos_ - start);
  return Status::Ok();
}

}  // namespace ledgerflow::core::internal
