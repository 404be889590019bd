#include "core/expression.h"

#include <string>
#include <string_view>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/core/parse_or_die.h"

namespace ledgerflow::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kContext[] = R"({
  "input": {
    "a": 1, "b": 2.5, "name": "ada", "flag": true, "none": null, "empty": "", "zero": 0,
    "items": [10, {"id": "x"}], "nested": {"k": [1, 2]},
    "obj": {"x": 1, "y": [1, 2]}, "obj_reordered": {"y": [1, 2.0], "x": 1.0},
    "empty_array": [], "empty_object": {}, "text": "line1\nline2\ttab\\ \"q\" 'a'"
  },
  "steps": {
    "fetch": {"output": {"status_code": 200, "body": {"ok": true}}, "status": "completed"},
    "step-2_b": {"output": {"n": 3}, "status": "failed"}
  }})";

const json::Value& Context() {
  static const json::Document* context = new json::Document(ParseOrDie(kContext));
  return *context;
}

StatusOr<bool> Eval(std::string_view text) {
  StatusOr<Expression> expression = ParseExpression(text);
  if (!expression.ok()) return expression.status();
  return Evaluate(*expression, Context());
}

// The result of `text`, failing the test on any error.
bool Holds(std::string_view text) {
  StatusOr<bool> result = Eval(text);
  EXPECT_TRUE(result.ok()) << text << ": " << result.status().ToString();
  return result.ok() && *result;
}

std::string ParseError(std::string_view text) {
  StatusOr<Expression> expression = ParseExpression(text);
  EXPECT_FALSE(expression.ok()) << text << " parsed";
  if (expression.ok()) return "";
  EXPECT_EQ(expression.status().code(), StatusCode::kInvalidArgument);
  return expression.status().message();
}

std::string EvalError(std::string_view text) {
  StatusOr<Expression> expression = ParseExpression(text);
  EXPECT_TRUE(expression.ok()) << text << ": " << expression.status().ToString();
  if (!expression.ok()) return "";
  StatusOr<bool> result = Evaluate(*expression, Context());
  EXPECT_FALSE(result.ok()) << text << " evaluated";
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  return result.status().message();
}

TEST(ExpressionTest, EveryLiteralKindParses) {
  EXPECT_TRUE(Holds("true"));
  EXPECT_FALSE(Holds("false"));
  EXPECT_FALSE(Holds("null"));
  EXPECT_TRUE(Holds("42"));
  EXPECT_TRUE(Holds("-2 < 0"));
  EXPECT_TRUE(Holds("3.25 == 3.25"));
  EXPECT_TRUE(Holds("1.5e1 == 15"));
  EXPECT_TRUE(Holds("2E-1 == 0.2"));
  EXPECT_TRUE(Holds("1e+2 == 100"));
  EXPECT_TRUE(Holds(R"("ada" == 'ada')"));
  EXPECT_TRUE(Holds(R"('' == "")"));
}

TEST(ExpressionTest, StringEscapesAreDecoded) {
  EXPECT_TRUE(Holds(R"(input.text == "line1\nline2\ttab\\ \"q\" 'a'")"));
  EXPECT_TRUE(Holds(R"(input.text == 'line1\nline2\ttab\\ "q" \'a\'')"));
}

TEST(ExpressionTest, EveryComparisonOperator) {
  EXPECT_TRUE(Holds("input.a == 1"));
  EXPECT_FALSE(Holds("input.a != 1"));
  EXPECT_TRUE(Holds("input.a != 2"));
  EXPECT_TRUE(Holds("input.a < input.b"));
  EXPECT_FALSE(Holds("input.b < input.a"));
  EXPECT_TRUE(Holds("input.a <= 1"));
  EXPECT_FALSE(Holds("input.a <= 0.5"));
  EXPECT_TRUE(Holds("input.b > 2"));
  EXPECT_FALSE(Holds("input.b > 2.5"));
  EXPECT_TRUE(Holds("input.b >= 2.5"));
  EXPECT_FALSE(Holds("input.b >= 3"));
}

TEST(ExpressionTest, LogicalOperators) {
  EXPECT_TRUE(Holds("true && true"));
  EXPECT_FALSE(Holds("true && false"));
  EXPECT_TRUE(Holds("false || true"));
  EXPECT_FALSE(Holds("false || false"));
  EXPECT_TRUE(Holds("!false"));
  EXPECT_TRUE(Holds("!!true"));
  EXPECT_TRUE(Holds("(input.a || input.zero) == true"));
}

TEST(ExpressionTest, NumbersCompareByValue) {
  EXPECT_TRUE(Holds("1 == 1.0"));
  EXPECT_TRUE(Holds("input.a == 1.0"));
  EXPECT_TRUE(Holds("0 == -0.0"));
  EXPECT_TRUE(Holds("9223372036854775807 > 9223372036854775806"));
  EXPECT_TRUE(Holds("18446744073709551615 > -1"));
}

TEST(ExpressionTest, EqualityIsDeepAndIgnoresMemberOrder) {
  EXPECT_TRUE(Holds("input.obj == input.obj_reordered"));
  EXPECT_TRUE(Holds("input.items.1 == input.items.1"));
  EXPECT_TRUE(Holds("input.obj != input.nested"));
}

TEST(ExpressionTest, ValuesOfDifferentTypesAreUnequal) {
  EXPECT_TRUE(Holds(R"(1 != "1")"));
  EXPECT_TRUE(Holds("null != false"));
  EXPECT_TRUE(Holds("0 != false"));
  EXPECT_TRUE(Holds(R"("" != null)"));
  EXPECT_TRUE(Holds("input.empty_array != input.empty_object"));
}

TEST(ExpressionTest, StringsOrderByBytes) {
  EXPECT_TRUE(Holds(R"("a" < "b")"));
  EXPECT_TRUE(Holds(R"("B" < "a")"));
  EXPECT_TRUE(Holds(R"("abc" > "ab")"));
  EXPECT_TRUE(Holds(R"("é" > "z")"));
  EXPECT_TRUE(Holds(R"("ada" <= input.name && input.name >= "ada")"));
}

TEST(ExpressionTest, PathsReadInputsStepsAndArrayElements) {
  EXPECT_TRUE(Holds("input.items.0 == 10"));
  EXPECT_TRUE(Holds(R"(input.items.1.id == "x")"));
  EXPECT_TRUE(Holds("input.nested.k.1 == 2"));
  EXPECT_TRUE(Holds("steps.fetch.output.status_code == 200"));
  EXPECT_TRUE(Holds("steps.fetch.output.body.ok"));
  EXPECT_TRUE(Holds(R"(steps.fetch.status == "completed")"));
  EXPECT_TRUE(Holds("steps.step-2_b.output.n == 3"));
}

TEST(ExpressionTest, MissingPathIsNull) {
  EXPECT_TRUE(Holds("input.nope == null"));
  EXPECT_TRUE(Holds("input.items.5 == null"));
  EXPECT_TRUE(Holds("input.items.x == null"));
  EXPECT_TRUE(Holds("input.a.b == null"));
  EXPECT_TRUE(Holds("steps.ghost.output.x == null"));
  EXPECT_FALSE(Holds("steps.ghost.output.x"));
}

TEST(ExpressionTest, NonObjectContextMakesEveryPathNull) {
  StatusOr<Expression> expression = ParseExpression("input.a == null");
  ASSERT_TRUE(expression.ok());
  StatusOr<bool> result = Evaluate(*expression, json::Value());
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(*result);
}

TEST(ExpressionTest, FalseNullZeroAndEmptyStringAreFalsy) {
  EXPECT_FALSE(Holds("input.none"));
  EXPECT_FALSE(Holds("input.zero"));
  EXPECT_FALSE(Holds("0.0"));
  EXPECT_FALSE(Holds("input.empty"));
  EXPECT_FALSE(Holds("!input.flag"));
  EXPECT_FALSE(Holds("input.missing"));
}

TEST(ExpressionTest, EverythingElseIsTruthy) {
  EXPECT_TRUE(Holds("input.name"));
  EXPECT_TRUE(Holds(R"("0")"));
  EXPECT_TRUE(Holds("-1"));
  EXPECT_TRUE(Holds("input.b"));
  EXPECT_TRUE(Holds("input.items"));
  EXPECT_TRUE(Holds("input.empty_array"));
  EXPECT_TRUE(Holds("input.empty_object"));
}

TEST(ExpressionTest, LogicalOperatorsGiveBooleans) {
  EXPECT_TRUE(Holds("(input.name && input.a) == true"));
  EXPECT_TRUE(Holds("(input.none || input.zero) == false"));
  EXPECT_TRUE(Holds("!input.name == false"));
}

TEST(ExpressionTest, AndBindsTighterThanOr) {
  EXPECT_TRUE(Holds("true || false && false"));
  EXPECT_TRUE(Holds("false && false || true"));
}

TEST(ExpressionTest, NotBindsTighterThanComparison) {
  // (!1) == 2 is false == 2, which is false; !(1 == 2) would be true.
  EXPECT_FALSE(Holds("!input.a == 2"));
}

TEST(ExpressionTest, ComparisonBindsTighterThanAnd) {
  EXPECT_TRUE(Holds("input.a == 1 && input.b == 2.5"));
  EXPECT_TRUE(Holds("input.a == 2 || input.b == 2.5"));
}

TEST(ExpressionTest, ParenthesesOverridePrecedence) {
  EXPECT_FALSE(Holds("(true || false) && false"));
  EXPECT_TRUE(Holds("!(input.a == 2)"));
}

TEST(ExpressionTest, AndSkipsTheRightSideOnceTheLeftIsFalse) {
  EXPECT_FALSE(Holds(R"(false && "a" < 1)"));
  EXPECT_FALSE(Holds(R"(input.none && input.name < 1)"));
  EXPECT_EQ(EvalError(R"(true && "a" < 1)"), "cannot compare string with number at position 12");
}

TEST(ExpressionTest, OrSkipsTheRightSideOnceTheLeftIsTrue) {
  EXPECT_TRUE(Holds(R"(true || "a" < 1)"));
  EXPECT_EQ(EvalError(R"(false || "a" < 1)"),
            "cannot compare string with number at position 13");
}

TEST(ExpressionTest, OrderingOtherThanNumbersOrStringsIsAnError) {
  EXPECT_EQ(EvalError("input.name < input.a"),
            "cannot compare string with number at position 11");
  EXPECT_EQ(EvalError("null < 1"), "cannot compare null with number at position 5");
  EXPECT_EQ(EvalError("true >= false"), "cannot compare boolean with boolean at position 5");
  EXPECT_EQ(EvalError("input.obj > input.items"),
            "cannot compare object with array at position 10");
  EXPECT_EQ(EvalError("input.missing <= 1"), "cannot compare null with number at position 14");
}

TEST(ExpressionTest, LongChainsOfAndAndOrEvaluate) {
  std::string all_true = "true";
  while (all_true.size() + 8 < kMaxExpressionLength) all_true += " && true";
  EXPECT_TRUE(Holds(all_true));
  std::string all_false = "false";
  while (all_false.size() + 9 < kMaxExpressionLength) all_false += " || false";
  EXPECT_FALSE(Holds(all_false));
}

TEST(ExpressionTest, WhitespaceIsAllowedBetweenTokens) {
  EXPECT_TRUE(Holds("\n input.a\t==\r\n1 "));
  EXPECT_TRUE(Holds("( ! false )"));
}

TEST(ExpressionTest, ParseErrorsNameThePosition) {
  EXPECT_EQ(ParseError("input.a == "), "expected an operand at position 11");
  EXPECT_EQ(ParseError(""), "expected an operand at position 0");
  EXPECT_EQ(ParseError("&& true"), "expected an operand at position 0");
  EXPECT_EQ(ParseError("!"), "expected an operand at position 1");
  EXPECT_EQ(ParseError("(input.a == 1))"), "unexpected ')' at position 14");
  EXPECT_EQ(ParseError("(input.a == 1"), "expected ')' at position 13");
  EXPECT_EQ(ParseError("true false"), "unexpected 'false' at position 5");
  EXPECT_EQ(ParseError("input.a == \"abc"), "unterminated string starting at position 11");
  EXPECT_EQ(ParseError("'abc\\"), "unterminated string starting at position 0");
  EXPECT_EQ(ParseError("input.a # 1"), "unexpected '#' at position 8");
  EXPECT_EQ(ParseError("input.a = 1"), "unexpected '=' at position 8 (did you mean '=='?)");
  EXPECT_EQ(ParseError("true & true"), "unexpected '&' at position 5 (did you mean '&&'?)");
  EXPECT_EQ(ParseError("true | true"), "unexpected '|' at position 5 (did you mean '||'?)");
  EXPECT_EQ(ParseError("1.2.3"), "malformed number at position 0");
  EXPECT_EQ(ParseError("1. == 1"), "malformed number at position 0");
  EXPECT_EQ(ParseError("12abc"), "malformed number at position 0");
  EXPECT_EQ(ParseError("1e999"), "number out of range at position 0");
  EXPECT_EQ(ParseError("input.a == \x01"), "unexpected byte 0x01 at position 11");
  EXPECT_THAT(ParseError(R"("a\x")"), HasSubstr("unknown escape '\\x' at position 2"));
}

TEST(ExpressionTest, MessagesStayValidUtf8) {
  EXPECT_EQ(ParseError("input.a == é"), "unexpected byte 0xC3 at position 11");
  EXPECT_THAT(ParseError("'\\é'"), HasSubstr("unknown escape byte 0xC3 at position 1"));
  std::string accents;
  for (int i = 0; i < 15; ++i) accents += "é";
  std::string eleven;
  for (int i = 0; i < 11; ++i) eleven += "é";
  EXPECT_EQ(ParseError("true '" + accents + "'"),
            "unexpected ''" + eleven + "...' at position 5");
}

TEST(ExpressionTest, ComparisonsDoNotChain) {
  EXPECT_EQ(ParseError("1 < 2 < 3"),
            "unexpected '<' at position 6: comparisons do not chain (join them with && instead)");
  EXPECT_TRUE(Holds("(1 < 2) == true"));
}

TEST(ExpressionTest, PathsMustStartWithInputOrSteps) {
  EXPECT_EQ(ParseError("foo == 1"),
            "unknown name 'foo' at position 0: paths start with input. or steps.");
  EXPECT_EQ(ParseError("1 == item.x"),
            "unknown name 'item' at position 5: paths start with input. or steps.");
  EXPECT_EQ(ParseError("steps == 1"), "'steps' must be followed by a step id at position 5");
  EXPECT_EQ(ParseError("steps. == 1"), "'steps' must be followed by a step id at position 6");
  EXPECT_EQ(ParseError("input. == 1"), "expected a name after '.' at position 6");
  EXPECT_EQ(ParseError("input.a..b"), "expected a name after '.' at position 8");
  EXPECT_EQ(ParseError("true.x"),
            "unknown name 'true' at position 0: paths start with input. or steps.");
}

TEST(ExpressionTest, NestingUpToTheLimitIsAccepted) {
  const int n = kMaxExpressionNesting;
  EXPECT_TRUE(Holds(std::string(n, '(') + "true" + std::string(n, ')')));
  EXPECT_TRUE(Holds(std::string(n, '!') + "true"));
  EXPECT_TRUE(Holds(std::string(n / 2, '(') + std::string(n / 2, '!') + "true" +
                    std::string(n / 2, ')')));
}

TEST(ExpressionTest, NestingDeeperThanTheLimitIsRefused) {
  const int n = kMaxExpressionNesting;
  EXPECT_EQ(ParseError(std::string(n + 1, '(') + "true" + std::string(n + 1, ')')),
            "expression nests deeper than 64 levels at position 64");
  EXPECT_EQ(ParseError(std::string(n + 1, '!') + "true"),
            "expression nests deeper than 64 levels at position 64");
  EXPECT_EQ(ParseError(std::string(n / 2, '(') + std::string(n / 2 + 1, '!') + "true"),
            "expression nests deeper than 64 levels at position 64");
  // Hostile input within the length limit stops at the nesting limit, not the stack's.
  EXPECT_THAT(ParseError(std::string(kMaxExpressionLength, '(')), HasSubstr("nests deeper"));
}

TEST(ExpressionTest, TextLongerThanTheLimitIsRefused) {
  auto padded = [](size_t length) { return "'" + std::string(length - 2, 'x') + "'"; };
  EXPECT_TRUE(Holds(padded(kMaxExpressionLength)));
  EXPECT_EQ(ParseError(padded(kMaxExpressionLength + 1)),
            "expression is 4097 bytes long; the limit is 4096");
}

TEST(ExpressionTest, LongTokensAreCutShortInMessages) {
  EXPECT_EQ(ParseError("true 'abcdefghijklmnopqrstuvwxyz'"),
            "unexpected ''abcdefghijklmnopqrstuvw...' at position 5");
}

TEST(ExpressionTest, ReferencedStepsAreDistinctInFirstAppearanceOrder) {
  StatusOr<Expression> expression = ParseExpression(
      R"(steps.b.status == "x" && steps.a-1.output.y || steps.b.output && input.steps)");
  ASSERT_TRUE(expression.ok()) << expression.status().ToString();
  EXPECT_THAT(expression->referenced_steps(), ElementsAre("b", "a-1"));
  StatusOr<Expression> none = ParseExpression("input.a == 1");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(none->referenced_steps(), IsEmpty());
}

TEST(ExpressionTest, CopiesEvaluateLikeTheOriginal) {
  StatusOr<Expression> parsed = ParseExpression(R"(input.name == "ada" && steps.fetch.status)");
  ASSERT_TRUE(parsed.ok());
  Expression moved = std::move(parsed).value();
  Expression copy = moved;
  {
    Expression temporary = copy;
    copy = temporary;
  }
  EXPECT_EQ(copy.text(), R"(input.name == "ada" && steps.fetch.status)");
  EXPECT_THAT(copy.referenced_steps(), ElementsAre("fetch"));
  StatusOr<bool> result = Evaluate(copy, Context());
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(*result);
}

}  // namespace
}  // namespace ledgerflow::core
