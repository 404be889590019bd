#include "core/json.h"

#include <string>

#include <gtest/gtest.h>

namespace ledgerflow::json {
namespace {

TEST(JsonTest, ParseThenSerializeKeepsMemberOrder) {
  auto doc = Parse(R"({"b":1,"a":[true,null,"x"],"c":{"z":1.5}})");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(Serialize(*doc), R"({"b":1,"a":[true,null,"x"],"c":{"z":1.5}})");
}

TEST(JsonTest, MalformedJsonIsInvalidArgumentWithOffset) {
  auto doc = Parse(R"({"a": )");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(doc.status().reason(), "malformed_json");
  EXPECT_NE(doc.status().message().find("offset"), std::string::npos);
}

TEST(JsonTest, DeepNestingIsRefusedWithoutCrashing) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  auto doc = Parse(deep);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("nested"), std::string::npos);
}

TEST(JsonTest, InvalidUtf8IsRefused) {
  EXPECT_FALSE(Parse("\"\xff\xfe\"").ok());
}

TEST(JsonTest, LoneSurrogateEscapesAreRefusedAndPairsKept) {
  for (const char* text : {R"({"a":"\udc00"})", R"({"a":"x\ud800y"})", R"({"\udfff":1})",
                           R"(["ok","\ud83d"])"}) {
    auto parsed = Parse(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().reason(), "malformed_json") << text;
  }
  auto pair = Parse(R"({"a":"\ud83d\ude00"})");  // U+1F600, one code point
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(Serialize(*pair), "{\"a\":\"\xf0\x9f\x98\x80\"}");
  EXPECT_TRUE(Parse("{\"a\":\"\xed\x9f\xbf\"}").ok());  // U+D7FF, just below the surrogates
}

TEST(JsonTest, NanAndCommentsAreRefused) {
  EXPECT_FALSE(Parse("NaN").ok());
  EXPECT_FALSE(Parse("{/* c */}").ok());
}

TEST(JsonTest, TypedLookups) {
  auto doc = Parse(R"({"s":"x","i":3,"b":true})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(GetString(*doc, "s"), "x");
  EXPECT_EQ(GetInt(*doc, "i"), 3);
  EXPECT_EQ(GetBool(*doc, "b"), true);
  EXPECT_EQ(GetString(*doc, "i"), std::nullopt);
  EXPECT_EQ(Find(*doc, "missing"), nullptr);
}

TEST(JsonTest, TakeMemberMakesTheMemberTheRoot) {
  auto body = Parse(R"({"name":"n","definition":{"steps":[{"id":"a","x":[1,2]}],"k":"v"},"z":1})");
  ASSERT_TRUE(body.ok());
  Document definition = TakeMember(std::move(*body), "definition");
  EXPECT_EQ(Serialize(definition), R"({"steps":[{"id":"a","x":[1,2]}],"k":"v"})");
  // Usable as any document: members added with its allocator, copies, moves.
  definition.AddMember("added", Value(true), definition.GetAllocator());
  Document moved = std::move(definition);
  EXPECT_EQ(Serialize(Clone(moved)), R"({"steps":[{"id":"a","x":[1,2]}],"k":"v","added":true})");

  auto without = Parse(R"({"name":"n"})");
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(TakeMember(std::move(*without), "definition").IsNull());
  auto array = Parse("[1]");
  ASSERT_TRUE(array.ok());
  EXPECT_TRUE(TakeMember(std::move(*array), "definition").IsNull());
}

TEST(JsonTest, FindDuplicateKeyNamesTheObjectAndTheMember) {
  auto check = [](const std::string& text) {
    auto doc = Parse(text);
    EXPECT_TRUE(doc.ok()) << text;
    return FindDuplicateKey(*doc);
  };
  EXPECT_FALSE(check(R"({"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]})"));
  auto top = check(R"({"name":"a","steps":[],"name":"b"})");
  ASSERT_TRUE(top);
  EXPECT_EQ(top->object_pointer, "");
  EXPECT_EQ(top->name, "name");
  auto nested = check(
      R"({"definition":{"steps":[{"id":"a"},{"id":"b","id":"c"}]},"x/y~":{"k":1,"k":2}})");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->object_pointer, "/definition/steps/1");  // the first in document order
  EXPECT_EQ(nested->name, "id");
  auto escaped = check(R"({"x/y~":{"k":1,"k":2}})");
  ASSERT_TRUE(escaped);
  EXPECT_EQ(escaped->object_pointer, "/x~1y~0");
}

TEST(JsonTest, FindDuplicateKeyInLargeObjectsReportsTheFirstRepeatInDocumentOrder) {
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) text += "\"k" + std::to_string(i) + "\":0,";
  text += R"("k700":1,"k5":2})";
  auto doc = Parse(text);
  ASSERT_TRUE(doc.ok());
  auto found = FindDuplicateKey(*doc);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "k700");
  text.back() = ',';
  text += R"("other":3})";
  text.replace(text.find(R"("k700":1,)"), 9, R"("u700":1,)");
  text.replace(text.find(R"("k5":2,)"), 7, R"("u5":2,)");
  auto unique = Parse(text);
  ASSERT_TRUE(unique.ok()) << text.substr(text.size() - 60);
  EXPECT_FALSE(FindDuplicateKey(*unique));
}

TEST(JsonTest, FindsNumbersThatIJsonRulesOut) {
  EXPECT_EQ(FindNonInteroperableNumber(R"({"a":[1,{"b/~":9007199254740992}]})"), "/a/1/b~1~0");
  EXPECT_EQ(FindNonInteroperableNumber(R"({"a":-9007199254740992})"), "/a");
  EXPECT_EQ(FindNonInteroperableNumber(R"({"x":[0,1,-1e400]})"), "/x/2");
  EXPECT_EQ(FindNonInteroperableNumber(R"({"x":123456789012345678901234})"), "/x");
  EXPECT_FALSE(FindNonInteroperableNumber(
      R"({"a":9007199254740991,"b":-9007199254740991,"c":1.0,"d":1e2,"e":1e308,"f":5e-324})"));
  EXPECT_FALSE(FindNonInteroperableNumber(R"({"a":)"));  // not JSON: Parse reports it
}

}  // namespace
}  // namespace ledgerflow::json
