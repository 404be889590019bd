#include "core/json_patch.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/json.h"

namespace ledgerflow {
namespace {

json::Document P(std::string_view text) {
  auto doc = json::Parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString() << " in " << text;
  return doc.ok() ? std::move(*doc) : json::Document();
}

// Applies `patch` to `doc` and returns the status; the document is updated in place.
Status Apply(json::Document& doc, std::string_view patch) {
  json::Document p = P(patch);
  return ApplyJsonPatch(doc, p);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs every enabled record of one conformance file; returns how many were checked.
int RunConformanceFile(const std::string& name) {
  std::string path = std::string(LEDGERFLOW_TESTDATA_DIR) + "/json-patch-tests/" + name;
  std::string text = ReadFile(path);
  EXPECT_FALSE(text.empty()) << "cannot read " << path;
  json::Document records = P(text);
  if (!records.IsArray()) {
    ADD_FAILURE() << path << " is not an array";
    return 0;
  }
  int checked = 0;
  for (rapidjson::SizeType i = 0; i < records.Size(); ++i) {
    const json::Value& r = records[i];
    if (json::GetBool(r, "disabled").value_or(false)) continue;
    const json::Value* doc_in = json::Find(r, "doc");
    const json::Value* patch = json::Find(r, "patch");
    if (!doc_in || !patch) {
      ADD_FAILURE() << name << " record " << i << " lacks doc or patch";
      continue;
    }
    std::string label = name + " record " + std::to_string(i) + " (" +
                        json::GetString(r, "comment").value_or("") + ")";
    json::Document doc = json::Clone(*doc_in);
    Status s = ApplyJsonPatch(doc, *patch);
    if (const json::Value* expected = json::Find(r, "expected")) {
      EXPECT_TRUE(s.ok()) << label << ": " << s.ToString();
      EXPECT_TRUE(JsonEquals(doc, *expected))
          << label << ": got " << json::Serialize(doc) << ", want "
          << json::Serialize(*expected);
    } else if (json::Find(r, "error")) {
      EXPECT_FALSE(s.ok()) << label << ": should fail, got " << json::Serialize(doc);
      EXPECT_EQ(s.reason(), "invalid_patch") << label;
      EXPECT_TRUE(JsonEquals(doc, *doc_in)) << label << ": failed patch changed the doc";
    } else {
      EXPECT_TRUE(s.ok()) << label << ": " << s.ToString();
    }
    ++checked;
  }
  return checked;
}

TEST(JsonPatchConformanceTest, AllEnabledRecordsOfTheStandardSuitePass) {
  int checked = RunConformanceFile("tests.json") + RunConformanceFile("spec_tests.json");
  EXPECT_GT(checked, 100);
  RecordProperty("records_checked", checked);
  std::cout << "[ conformance ] " << checked << " records checked\n";
}

TEST(JsonPatchTest, AddInsertsIntoArraysAndDashAppends) {
  json::Document doc = P(R"({"a":[1,2,3]})");
  ASSERT_TRUE(Apply(doc, R"([{"op":"add","path":"/a/1","value":9},
                             {"op":"add","path":"/a/-","value":"end"},
                             {"op":"add","path":"/a/0","value":0}])")
                  .ok());
  EXPECT_EQ(json::Serialize(doc), R"({"a":[0,1,9,2,3,"end"]})");
}

TEST(JsonPatchTest, RemoveKeepsTheOrderOfOtherMembers) {
  json::Document doc = P(R"({"a":1,"b":2,"c":3,"d":4})");
  ASSERT_TRUE(Apply(doc, R"([{"op":"remove","path":"/b"}])").ok());
  EXPECT_EQ(json::Serialize(doc), R"({"a":1,"c":3,"d":4})");
}

TEST(JsonPatchTest, ErrorNamesTheOperationIndexAndPath) {
  json::Document doc = P(R"({"a":{"b":1}})");
  Status s = Apply(doc, R"([{"op":"test","path":"/a/b","value":1},
                            {"op":"remove","path":"/a/zz"}])");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), "invalid_patch");
  EXPECT_NE(s.message().find("operation 1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("/a/zz"), std::string::npos) << s.message();
}

TEST(JsonPatchTest, FailedPatchLeavesTheDocumentUnchanged) {
  json::Document doc = P(R"({"a":[1,2],"b":"x"})");
  Status s = Apply(doc, R"([{"op":"add","path":"/a/-","value":3},
                            {"op":"replace","path":"/b","value":"y"},
                            {"op":"remove","path":"/missing"}])");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(json::Serialize(doc), R"({"a":[1,2],"b":"x"})");
}

TEST(JsonPatchTest, MoveIntoItsOwnChildIsRefused) {
  json::Document doc = P(R"({"a":{"b":{}}})");
  Status s = Apply(doc, R"([{"op":"move","from":"/a","path":"/a/b/c"}])");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("own children"), std::string::npos) << s.message();
  // Moving to a sibling whose name merely starts the same is fine.
  ASSERT_TRUE(Apply(doc, R"([{"op":"move","from":"/a","path":"/ab"}])").ok());
  EXPECT_EQ(json::Serialize(doc), R"({"ab":{"b":{}}})");
}

TEST(JsonPatchTest, MoveWithinAnArrayRemovesBeforeAdding) {
  json::Document doc = P(R"([0,1,2,3,4])");
  ASSERT_TRUE(Apply(doc, R"([{"op":"move","from":"/1","path":"/3"}])").ok());
  EXPECT_EQ(json::Serialize(doc), R"([0,2,3,1,4])");
  ASSERT_TRUE(Apply(doc, R"([{"op":"move","from":"/4","path":"/0"}])").ok());
  EXPECT_EQ(json::Serialize(doc), R"([4,0,2,3,1])");
}

TEST(JsonPatchTest, BadArrayIndexesAreRefused) {
  json::Document doc = P(R"({"a":[1,2]})");
  for (const char* patch : {R"([{"op":"replace","path":"/a/01","value":0}])",
                            R"([{"op":"replace","path":"/a/-","value":0}])",
                            R"([{"op":"remove","path":"/a/2"}])",
                            R"([{"op":"add","path":"/a/3","value":0}])",
                            R"([{"op":"add","path":"/a/+1","value":0}])",
                            R"([{"op":"test","path":"/a/99999999999999999999999","value":0}])",
                            R"([{"op":"add","path":"/a/-/x","value":0}])"}) {
    EXPECT_FALSE(Apply(doc, patch).ok()) << patch;
  }
  EXPECT_EQ(json::Serialize(doc), R"({"a":[1,2]})");
}

TEST(JsonPatchTest, PointerEscapesAreDecodedAndBadEscapesRefused) {
  json::Document doc = P(R"({"a/b":{"m~n":1}})");
  ASSERT_TRUE(Apply(doc, R"([{"op":"replace","path":"/a~1b/m~0n","value":2}])").ok());
  EXPECT_EQ(json::Serialize(doc), R"({"a/b":{"m~n":2}})");
  EXPECT_FALSE(Apply(doc, R"([{"op":"test","path":"/a~2b","value":1}])").ok());
  EXPECT_FALSE(Apply(doc, R"([{"op":"test","path":"/a~","value":1}])").ok());
  EXPECT_EQ(EscapePointerToken("a/~b"), "a~1~0b");
}

TEST(JsonPatchTest, MalformedOperationsAreRefused) {
  json::Document doc = P(R"({"a":1})");
  for (const char* patch : {R"({"op":"add","path":"/b","value":1})",
                            R"([1])",
                            R"([{"path":"/a"}])",
                            R"([{"op":"remove"}])",
                            R"([{"op":"remove","path":1}])",
                            R"([{"op":"add","path":"/b"}])",
                            R"([{"op":"copy","path":"/b"}])",
                            R"([{"op":"move","from":null,"path":"/b"}])",
                            R"([{"op":"frobnicate","path":"/a"}])"}) {
    Status s = Apply(doc, patch);
    EXPECT_FALSE(s.ok()) << patch;
    EXPECT_EQ(s.reason(), "invalid_patch") << patch;
  }
  EXPECT_EQ(json::Serialize(doc), R"({"a":1})");
}

TEST(JsonPatchTest, TestComparesNumbersByValueAndObjectsRegardlessOfOrder) {
  json::Document doc = P(R"({"n":1,"o":{"x":[1,2],"y":null}})");
  EXPECT_TRUE(Apply(doc, R"([{"op":"test","path":"/n","value":1.0}])").ok());
  EXPECT_TRUE(Apply(doc, R"([{"op":"test","path":"/o","value":{"y":null,"x":[1.0,2]}}])").ok());
  EXPECT_FALSE(Apply(doc, R"([{"op":"test","path":"/n","value":"1"}])").ok());
  EXPECT_FALSE(Apply(doc, R"([{"op":"test","path":"/o","value":{"x":[2,1],"y":null}}])").ok());
  EXPECT_FALSE(Apply(doc, R"([{"op":"test","path":"/n","value":true}])").ok());
}

TEST(JsonPatchTest, WholeDocumentCanBeReplacedAndTestedButNotRemoved) {
  json::Document doc = P(R"({"a":1})");
  EXPECT_TRUE(Apply(doc, R"([{"op":"test","path":"","value":{"a":1}}])").ok());
  EXPECT_FALSE(Apply(doc, R"([{"op":"remove","path":""}])").ok());
  ASSERT_TRUE(Apply(doc, R"([{"op":"replace","path":"","value":"scalar"}])").ok());
  EXPECT_EQ(json::Serialize(doc), R"("scalar")");
  ASSERT_TRUE(Apply(doc, R"([{"op":"add","path":"","value":[1]}])").ok());
  EXPECT_EQ(json::Serialize(doc), R"([1])");
}

TEST(JsonPatchTest, MoveFromAMemberToTheRootKeepsTheValue) {
  json::Document doc = P(R"({"a":{"b":[1,2]},"c":3})");
  ASSERT_TRUE(Apply(doc, R"([{"op":"move","from":"/a","path":""}])").ok());
  EXPECT_EQ(json::Serialize(doc), R"({"b":[1,2]})");
}

TEST(JsonPatchTest, AppliedValuesDoNotReferToThePatch) {
  json::Document doc = P(R"({})");
  {
    std::string key = "value-held-by-reference";
    json::Document patch;
    patch.SetArray();
    json::Value op(rapidjson::kObjectType);
    op.AddMember("op", "add", patch.GetAllocator());
    op.AddMember("path", "/k", patch.GetAllocator());
    json::Value v(rapidjson::kArrayType);
    v.PushBack(json::Value(rapidjson::StringRef(key.data(), key.size())), patch.GetAllocator());
    op.AddMember("value", v, patch.GetAllocator());
    patch.PushBack(op, patch.GetAllocator());
    ASSERT_TRUE(ApplyJsonPatch(doc, patch).ok());
    key.assign(key.size(), 'X');  // the patch's referenced text changes under it
  }
  EXPECT_EQ(json::Serialize(doc), R"({"k":["value-held-by-reference"]})");
}

TEST(JsonPatchTest, CopiedValueIsIndependentOfItsSource) {
  json::Document doc = P(R"({"a":{"b":[1]}})");
  ASSERT_TRUE(Apply(doc, R"([{"op":"copy","from":"/a","path":"/c"},
                             {"op":"add","path":"/c/b/-","value":2}])")
                  .ok());
  EXPECT_EQ(json::Serialize(doc), R"({"a":{"b":[1]},"c":{"b":[1,2]}})");
}

struct MergeCase {
  const char* target;
  const char* patch;
  const char* result;
};

TEST(MergePatchTest, Rfc7396AppendixAExamples) {
  const MergeCase cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    json::Document target = P(c.target);
    json::Document patch = P(c.patch);
    ASSERT_TRUE(ApplyMergePatch(target, patch).ok()) << c.patch;
    EXPECT_EQ(json::Serialize(target), c.result) << c.target << " + " << c.patch;
  }
}

TEST(MergePatchTest, Rfc7396SectionThreeExampleKeepsMemberOrder) {
  json::Document target = P(R"({"title":"Goodbye!",
      "author":{"givenName":"John","familyName":"Doe"},
      "tags":["example","sample"],"content":"This will be unchanged"})");
  json::Document patch = P(R"({"title":"Hello!","phoneNumber":"+01-123-456-7890",
      "author":{"familyName":null},"tags":["example"]})");
  ASSERT_TRUE(ApplyMergePatch(target, patch).ok());
  EXPECT_EQ(json::Serialize(target),
            R"({"title":"Hello!","author":{"givenName":"John"},"tags":["example"],)"
            R"("content":"This will be unchanged","phoneNumber":"+01-123-456-7890"})");
}

TEST(MergePatchTest, PathologicallyDeepPatchIsRefusedAndTargetKept) {
  json::Document target = P(R"({"a":1})");
  json::Document patch;
  json::Value* v = &patch.SetObject();
  for (int i = 0; i < json::kMaxDepth + 5; ++i) {
    v->AddMember("n", json::Value(rapidjson::kObjectType), patch.GetAllocator());
    v = &(*v)["n"];
  }
  Status s = ApplyMergePatch(target, patch);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.reason(), "invalid_patch");
  EXPECT_EQ(json::Serialize(target), R"({"a":1})");
}

TEST(JsonEqualsTest, NumbersByValueAndMembersInAnyOrder) {
  EXPECT_TRUE(JsonEquals(P("1"), P("1.0")));
  EXPECT_TRUE(JsonEquals(P("-0.0"), P("0")));
  EXPECT_FALSE(JsonEquals(P("18446744073709551615"), P("-1")));
  EXPECT_TRUE(JsonEquals(P(R"({"a":1,"b":[true]})"), P(R"({"b":[true],"a":1})")));
  EXPECT_FALSE(JsonEquals(P(R"({"a":1})"), P(R"({"a":1,"b":2})")));
  EXPECT_FALSE(JsonEquals(P("[1,2]"), P("[2,1]")));
  EXPECT_FALSE(JsonEquals(P("true"), P("false")));
  EXPECT_FALSE(JsonEquals(P("null"), P("0")));
}

}  // namespace
}  // namespace ledgerflow
