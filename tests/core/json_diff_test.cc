#include "core/json_diff.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"
#include "core/json_patch.h"

namespace ledgerflow {
namespace {

using json::Allocator;
using json::Value;

json::Document P(std::string_view text) {
  auto doc = json::Parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString() << " in " << text;
  return doc.ok() ? std::move(*doc) : json::Document();
}

// Serialization with object members sorted, so that two values print the same exactly
// when they are equal including each number's form (1 vs 1.0).
std::string Canonical(const Value& v) {
  if (v.IsArray()) {
    std::string out = "[";
    for (const auto& e : v.GetArray()) out += (out.size() > 1 ? "," : "") + Canonical(e);
    return out + "]";
  }
  if (v.IsObject()) {
    std::vector<std::string> members;
    for (const auto& m : v.GetObject()) {
      members.push_back(json::Serialize(m.name) + ":" + Canonical(m.value));
    }
    std::sort(members.begin(), members.end());
    std::string out = "{";
    for (const auto& m : members) out += (out.size() > 1 ? "," : "") + m;
    return out + "}";
  }
  return json::Serialize(v);
}

// Applies Diff(a, b) to a copy of `a` and checks that it yields `b`.
// Counts the ops by name into `op_counts` when given.
::testing::AssertionResult DiffRoundTrips(const Value& a, const Value& b,
                                          std::map<std::string, int>* op_counts = nullptr) {
  json::Document patch = Diff(a, b);
  for (const auto& op : patch.GetArray()) {
    if (op_counts) ++(*op_counts)[json::GetString(op, "op").value_or("?")];
  }
  json::Document doc = json::Clone(a);
  Status s = ApplyJsonPatch(doc, patch);
  if (!s.ok()) {
    return ::testing::AssertionFailure() << s.ToString() << "\nfrom " << json::Serialize(a)
                                         << "\nto   " << json::Serialize(b) << "\npatch "
                                         << json::Serialize(patch);
  }
  if (Canonical(doc) != Canonical(b)) {
    return ::testing::AssertionFailure() << "from " << json::Serialize(a) << "\nto   "
                                         << json::Serialize(b) << "\ngot  "
                                         << json::Serialize(doc) << "\npatch "
                                         << json::Serialize(patch);
  }
  return ::testing::AssertionSuccess();
}

std::string Step(int i, const std::string& url_suffix = "") {
  return R"({"id":"s)" + std::to_string(i) + R"(","type":"http_request","config":{"url":)" +
         R"("https://example.com/)" + std::to_string(i) + url_suffix +
         R"(","method":"GET"},"depends_on":[]})";
}

// A definition whose steps are Step(ids[0]), Step(ids[1]), ...
json::Document Definition(const std::vector<int>& ids, const std::string& name = "wf") {
  std::string text = R"({"name":")" + name + R"(","steps":[)";
  for (size_t i = 0; i < ids.size(); ++i) text += (i ? "," : "") + Step(ids[i]);
  return P(text + "]}");
}

std::vector<int> Range(int n) {
  std::vector<int> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = i;
  return ids;
}

std::string OpPath(const Value& op) { return json::GetString(op, "path").value_or("?"); }

TEST(DiffTest, IdenticalValuesGiveAnEmptyDiff) {
  json::Document a = Definition(Range(50));
  EXPECT_EQ(Diff(a, a).Size(), 0u);
  EXPECT_EQ(Diff(P(R"({"a":1,"b":2})"), P(R"({"b":2,"a":1})")).Size(), 0u);
}

TEST(DiffTest, InsertAtFrontOfLongStepListIsOneAddOperation) {
  std::vector<int> ids = Range(200);
  json::Document a = Definition(ids);
  ids.insert(ids.begin(), 999);
  json::Document b = Definition(ids);
  json::Document patch = Diff(a, b);
  ASSERT_EQ(patch.Size(), 1u) << json::Serialize(patch);
  EXPECT_EQ(json::GetString(patch[0], "op"), "add");
  EXPECT_EQ(OpPath(patch[0]), "/steps/0");
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

TEST(DiffTest, ModifyingOneStepConfigOnlyTouchesThatStep) {
  json::Document a = Definition(Range(100));
  json::Document b = json::Clone(a);
  b["steps"][57]["config"]["url"].SetString("https://changed.example.com", b.GetAllocator());
  b["steps"][57]["config"].AddMember("timeout", 5, b.GetAllocator());
  json::Document patch = Diff(a, b);
  ASSERT_EQ(patch.Size(), 2u) << json::Serialize(patch);
  for (const auto& op : patch.GetArray()) {
    EXPECT_EQ(OpPath(op).rfind("/steps/57/config/", 0), 0u) << json::Serialize(op);
  }
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

TEST(DiffTest, RemovingAStepIsOneRemoveOperation) {
  std::vector<int> ids = Range(100);
  json::Document a = Definition(ids);
  ids.erase(ids.begin() + 40);
  json::Document b = Definition(ids);
  json::Document patch = Diff(a, b);
  ASSERT_EQ(patch.Size(), 1u) << json::Serialize(patch);
  EXPECT_EQ(json::GetString(patch[0], "op"), "remove");
  EXPECT_EQ(OpPath(patch[0]), "/steps/40");
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

TEST(DiffTest, MovingAStepIsOneMoveOperation) {
  std::vector<int> ids = Range(200);
  json::Document a = Definition(ids);
  ids.erase(ids.begin() + 10);
  ids.insert(ids.begin() + 150, 10);
  json::Document b = Definition(ids);
  json::Document patch = Diff(a, b);
  ASSERT_EQ(patch.Size(), 1u) << json::Serialize(patch);
  EXPECT_EQ(json::GetString(patch[0], "op"), "move");
  EXPECT_TRUE(DiffRoundTrips(a, b));
  EXPECT_TRUE(DiffRoundTrips(b, a));
}

TEST(DiffTest, MovedAndModifiedStepIsMovedThenEditedInPlace) {
  std::vector<int> ids = Range(30);
  json::Document a = Definition(ids);
  std::rotate(ids.begin(), ids.begin() + 1, ids.end());
  json::Document b = Definition(ids);
  b["steps"][29]["config"]["method"].SetString("POST");
  json::Document patch = Diff(a, b);
  ASSERT_EQ(patch.Size(), 2u) << json::Serialize(patch);
  EXPECT_EQ(json::GetString(patch[0], "op"), "move");
  EXPECT_EQ(OpPath(patch[1]), "/steps/29/config/method");
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

TEST(DiffTest, StagedStepsAreMatchedByName) {
  json::Document a = P(R"({"name":"ci","stages":[{"name":"build","order":1,"steps":[
      {"name":"compile","type":"Build","configuration":{"ingredientId":"x"}},
      {"name":"package","type":"Build","configuration":{}}]}]})");
  json::Document b = P(R"({"name":"ci","stages":[{"name":"build","order":1,"steps":[
      {"name":"lint","type":"Test","configuration":{}},
      {"name":"compile","type":"Build","configuration":{"ingredientId":"y"}},
      {"name":"package","type":"Build","configuration":{}}]}]})");
  json::Document patch = Diff(a, b);
  ASSERT_EQ(patch.Size(), 2u) << json::Serialize(patch);
  EXPECT_EQ(OpPath(patch[0]), "/stages/0/steps/0");
  EXPECT_EQ(OpPath(patch[1]), "/stages/0/steps/1/configuration/ingredientId");
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

TEST(DiffTest, UnkeyedArrayInsertIsOneAdd) {
  std::string a = "[", b = "[";
  for (int i = 0; i < 100; ++i) {
    a += (i ? "," : "") + std::to_string(i);
    b += (i ? "," : "") + std::string(i == 50 ? "\"new\"," : "") + std::to_string(i);
  }
  json::Document da = P(a + "]"), db = P(b + "]");
  json::Document patch = Diff(da, db);
  ASSERT_EQ(patch.Size(), 1u) << json::Serialize(patch);
  EXPECT_EQ(OpPath(patch[0]), "/50");
  EXPECT_TRUE(DiffRoundTrips(da, db));
}

TEST(DiffTest, ChangedUnkeyedObjectIsEditedInPlace) {
  json::Document a = P(R"([{"k":1,"v":"a"},{"k":2,"v":"b"},{"k":3,"v":"c"}])");
  json::Document b = P(R"([{"k":1,"v":"a"},{"k":2,"v":"B"},{"k":3,"v":"c"}])");
  json::Document patch = Diff(a, b);
  ASSERT_EQ(patch.Size(), 1u) << json::Serialize(patch);
  EXPECT_EQ(OpPath(patch[0]), "/1/v");
}

TEST(DiffTest, TypeChangesAndRootScalarsAreReplaced) {
  json::Document patch = Diff(P(R"({"a":[1]})"), P(R"({"a":{"0":1}})"));
  ASSERT_EQ(patch.Size(), 1u);
  EXPECT_EQ(json::Serialize(patch), R"([{"op":"replace","path":"/a","value":{"0":1}}])");
  patch = Diff(P("1"), P(R"("one")"));
  EXPECT_EQ(json::Serialize(patch), R"([{"op":"replace","path":"","value":"one"}])");
}

TEST(DiffTest, NumberFormIsReproducedExactly) {
  json::Document a = P(R"({"n":1,"d":2.5})"), b = P(R"({"n":1.0,"d":2.5})");
  json::Document patch = Diff(a, b);
  ASSERT_EQ(patch.Size(), 1u);
  json::Document doc = json::Clone(a);
  ASSERT_TRUE(ApplyJsonPatch(doc, patch).ok());
  EXPECT_EQ(json::Serialize(doc), R"({"n":1.0,"d":2.5})");
}

TEST(DiffTest, KeysWithSlashAndTildeAreEscaped) {
  json::Document a = P(R"({"a/b":{"m~n":1,"~1":2}})"), b = P(R"({"a/b":{"m~n":3}})");
  json::Document patch = Diff(a, b);
  EXPECT_EQ(json::Serialize(patch),
            R"([{"op":"remove","path":"/a~1b/~01"},)"
            R"({"op":"replace","path":"/a~1b/m~0n","value":3}])");
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

TEST(DiffTest, DuplicateMemberNamesFallBackToReplacingTheObject) {
  json::Document a = P(R"({"o":{"k":1,"k":2}})"), b = P(R"({"o":{"k":1}})");
  EXPECT_TRUE(DiffRoundTrips(a, b));
  EXPECT_TRUE(DiffRoundTrips(b, a));
}

TEST(DiffTest, HugeUnrelatedArraysFallBackAndStillApply) {
  std::mt19937 rng(7);
  json::Document a, b;
  a.SetArray();
  b.SetArray();
  for (int i = 0; i < 20000; ++i) {
    a.PushBack(static_cast<int>(rng() % 1000), a.GetAllocator());
    b.PushBack(static_cast<int>(rng() % 1000), b.GetAllocator());
  }
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

TEST(DiffTest, ReversedHugeKeyedArrayRoundTrips) {
  std::vector<int> ids = Range(3000);
  json::Document a = Definition(ids);
  std::reverse(ids.begin(), ids.end());
  ids.erase(ids.begin() + 100, ids.begin() + 105);
  ids.insert(ids.begin() + 2000, {7001, 7002, 7003});
  json::Document b = Definition(ids);
  b["steps"][7]["type"].SetString("script");
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

TEST(DiffTest, ThousandStepDefinitionWithFewChangesIsAFewOperations) {
  std::vector<int> ids = Range(1000);
  json::Document a = Definition(ids);
  ids.erase(ids.begin() + 300);
  ids.insert(ids.begin() + 700, 5000);
  json::Document b = Definition(ids);
  b["steps"][500]["config"]["method"].SetString("PUT");
  // Speed is measured in bench/diff_bench.cc.
  EXPECT_EQ(Diff(a, b).Size(), 3u);
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

// Random JSON for the property test: nested values, awkward keys, every number form.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(0, 99) < percent; }

  std::string Key() {
    static const char* kKeys[] = {"a", "b", "c", "id", "name", "x/y", "m~n", "~1", "/",
                                  "",  "0", "-", "steps", "a~01", "config", "é"};
    return kKeys[Int(0, std::size(kKeys) - 1)];
  }

  Value Scalar(Allocator& a) {
    switch (Int(0, 7)) {
      case 0: return Value();
      case 1: return Value(Chance(50));
      case 2: return Value(Int(-3, 3));
      case 3: return Value(static_cast<double>(Int(-3, 3)));  // 1.0 beside 1
      case 4: return Value(Int(-100, 100) / 8.0);
      case 5: return Value(uint64_t{18446744073709551615ULL});
      default: return json::String(Key(), a);
    }
  }

  Value Any(Allocator& a, int depth) {
    int kind = depth <= 0 ? 0 : Int(0, 3);
    if (kind == 1) {
      Value arr(rapidjson::kArrayType);
      for (int i = Int(0, 5); i > 0; --i) arr.PushBack(Any(a, depth - 1), a);
      return arr;
    }
    if (kind == 2) {
      Value obj(rapidjson::kObjectType);
      for (int i = Int(0, 5); i > 0; --i) Set(obj, Key(), Any(a, depth - 1), a);
      return obj;
    }
    return Scalar(a);
  }

  // Sets member `key` (replacing an existing one, so names stay unique).
  static void Set(Value& obj, const std::string& key, Value v, Allocator& a) {
    if (auto it = obj.FindMember(key); it != obj.MemberEnd()) {
      it->value = v;
    } else {
      obj.AddMember(json::String(key, a), v, a);
    }
  }

  // One random edit somewhere inside `v`.
  void Mutate(Value& v, Allocator& a, int depth = 0) {
    if (v.IsObject() && v.MemberCount() > 0 && Chance(75)) {
      auto it = v.MemberBegin() + Int(0, v.MemberCount() - 1);
      switch (Int(0, 4)) {
        case 0: case 1: return Mutate(it->value, a, depth + 1);
        case 2: v.EraseMember(it); return;
        case 3: Set(v, Key(), Any(a, 2), a); return;
        default: it->value = Any(a, 2); return;  // often a type change
      }
    }
    if (v.IsArray() && v.Size() > 0 && Chance(75)) {
      rapidjson::SizeType i = Int(0, v.Size() - 1);
      switch (Int(0, 5)) {
        case 0: case 1: return Mutate(v[i], a, depth + 1);
        case 2: v.Erase(v.Begin() + i); return;
        case 3: Insert(v, Int(0, v.Size()), Any(a, 2), a); return;
        case 4: Insert(v, Int(0, v.Size()), DeepCopy(v[i], a), a); return;  // duplicate
        default: v[i].Swap(v[Int(0, v.Size() - 1)]); return;
      }
    }
    if (v.IsObject()) return Set(v, Key(), Any(a, 2), a);
    if (v.IsArray()) return Insert(v, Int(0, v.Size()), Any(a, 2), a);
    v = Any(a, depth < 3 ? 2 : 0);
  }

  static void Insert(Value& arr, rapidjson::SizeType at, Value v, Allocator& a) {
    arr.PushBack(v, a);
    for (rapidjson::SizeType k = arr.Size() - 1; k > at; --k) arr[k].Swap(arr[k - 1]);
  }

  Value MakeStep(Allocator& a, const std::string& key_name) {
    Value step(rapidjson::kObjectType);
    Set(step, key_name, json::String("s" + std::to_string(next_step_++), a), a);
    Set(step, "type", json::String(Chance(50) ? "http_request" : "script", a), a);
    Value config(rapidjson::kObjectType);
    Set(config, "url", json::String("https://x/" + std::to_string(Int(0, 9)), a), a);
    if (Chance(50)) Set(config, "headers", Any(a, 2), a);
    Set(step, key_name == "id" ? "config" : "configuration", std::move(config), a);
    if (Chance(30)) {
      Value deps(rapidjson::kArrayType);
      deps.PushBack(json::String("s" + std::to_string(Int(0, next_step_)), a), a);
      Set(step, "depends_on", std::move(deps), a);
    }
    return step;
  }

  // A definition with `steps` (ids) or `stages[*].steps` (names).
  json::Document Definition(bool staged) {
    json::Document d;
    Allocator& a = d.GetAllocator();
    d.SetObject();
    Set(d, "name", json::String("wf" + std::to_string(Int(0, 3)), a), a);
    if (Chance(50)) Set(d, "metadata", Any(a, 3), a);
    auto steps = [&](const std::string& key) {
      Value list(rapidjson::kArrayType);
      for (int i = Int(0, 25); i > 0; --i) list.PushBack(MakeStep(a, key), a);
      return list;
    };
    if (!staged) {
      Set(d, "steps", steps("id"), a);
      return d;
    }
    Value stages(rapidjson::kArrayType);
    for (int i = Int(1, 3); i > 0; --i) {
      Value stage(rapidjson::kObjectType);
      Set(stage, "name", json::String("stage" + std::to_string(i), a), a);
      Set(stage, "steps", steps("name"), a);
      stages.PushBack(stage, a);
    }
    Set(d, "stages", std::move(stages), a);
    return d;
  }

  // Step-level edits: insert, delete, modify, reorder; plus an occasional field edit.
  void EditSteps(json::Document& d, const std::string& key_name) {
    Allocator& a = d.GetAllocator();
    Value* steps = json::Find(d, "steps") ? &d["steps"] : nullptr;
    for (int n = Int(1, 4); n > 0; --n) {
      if (!steps) {
        Value& stages = d["stages"];
        steps = &stages[Int(0, stages.Size() - 1)]["steps"];
      }
      int size = steps->Size();
      switch (Int(0, 4)) {
        case 0: Insert(*steps, Int(0, size), MakeStep(a, key_name), a); break;
        case 1: if (size) steps->Erase(steps->Begin() + Int(0, size - 1)); break;
        case 2: if (size) Mutate((*steps)[Int(0, size - 1)], a); break;
        case 3:
          if (size > 1) {
            Value moved;
            moved.Swap((*steps)[Int(0, size - 1)]);
            steps->Erase(std::find_if(steps->Begin(), steps->End(),
                                      [](const Value& s) { return s.IsNull(); }));
            Insert(*steps, Int(0, size - 1), std::move(moved), a);
          }
          break;
        default:
          if (size > 1) {
            std::shuffle(steps->Begin(), steps->Begin() + Int(1, size), rng_);
          }
          break;
      }
    }
    // Field edits anywhere last, as they may turn the step list into something else.
    for (int n = Int(0, 2); n > 0; --n) Mutate(d, a);
  }

 private:
  std::mt19937 rng_;
  int next_step_ = 0;
};

TEST(DiffPropertyTest, DiffAppliedToEitherSideYieldsTheOther) {
  Generator g(20240601);
  int pairs = 0;
  std::map<std::string, int> op_counts;
  for (int round = 0; round < 800; ++round) {
    json::Document a, b;
    switch (round % 4) {
      case 0: {  // unrelated values
        a.CopyFrom(g.Any(a.GetAllocator(), 4), a.GetAllocator());
        b.CopyFrom(g.Any(b.GetAllocator(), 4), b.GetAllocator());
        break;
      }
      case 1: {  // a value and a few random edits of it
        static_cast<Value&>(a) = g.Any(a.GetAllocator(), 5);
        b = json::Clone(a);
        for (int n = g.Int(1, 5); n > 0; --n) g.Mutate(b, b.GetAllocator());
        break;
      }
      default: {  // workflow definitions, flat (ids) or staged (names)
        bool staged = round % 4 == 3;
        a = g.Definition(staged);
        b = json::Clone(a);
        g.EditSteps(b, staged ? "name" : "id");
        break;
      }
    }
    ASSERT_TRUE(DiffRoundTrips(a, b, &op_counts)) << "round " << round;
    ASSERT_TRUE(DiffRoundTrips(b, a, &op_counts)) << "round " << round;
    ++pairs;
  }
  EXPECT_GE(pairs, 500);
  // The generator must reach every kind of op the diff emits.
  for (const char* op : {"add", "remove", "replace", "move"}) {
    EXPECT_GT(op_counts[op], 50) << op;
  }
  for (const auto& [op, n] : op_counts) RecordProperty("ops_" + op, n);
}

TEST(SummaryTest, AddedOneStepAndModifiedOneStep) {
  json::Document a = Definition({1, 2, 3});
  json::Document b = Definition({1, 2, 3, 4});
  b["steps"][1]["config"]["method"].SetString("POST");
  EXPECT_EQ(SummarizeDefinitionChange(a, b), "Added 1 step, modified 1 step");
  DefinitionChangeCounts c = CountDefinitionChanges(a, b);
  EXPECT_EQ(c.added, 1);
  EXPECT_EQ(c.removed, 0);
  EXPECT_EQ(c.modified, 1);
  EXPECT_FALSE(c.reordered);
  EXPECT_TRUE(c.other_changes.empty());
}

TEST(SummaryTest, IdenticalDefinitionsHaveNoChanges) {
  json::Document a = Definition(Range(5));
  EXPECT_EQ(SummarizeDefinitionChange(a, a), "No changes");
}

TEST(SummaryTest, PluralsRemovalsAndReordering) {
  json::Document a = Definition({1, 2, 3, 4, 5, 6});
  json::Document b = Definition({7, 8, 6, 1, 3, 4});
  b["steps"][3]["type"].SetString("script");
  EXPECT_EQ(SummarizeDefinitionChange(a, b),
            "Added 2 steps, removed 2 steps, modified 1 step, reordered steps");
}

TEST(SummaryTest, InsertingAStepDoesNotReportLaterStepsModified) {
  std::vector<int> ids = Range(20);
  json::Document a = Definition(ids);
  ids.insert(ids.begin() + 3, 100);
  EXPECT_EQ(SummarizeDefinitionChange(a, Definition(ids)), "Added 1 step");
}

TEST(SummaryTest, NonStepChangesAreNamed) {
  json::Document a = P(R"({"name":"a","description":"d","steps":[],"metadata":{"k":1}})");
  json::Document b = P(R"({"name":"b","description":"d","steps":[],"metadata":{"k":2},
                           "inputs":{"type":"object"}})");
  EXPECT_EQ(SummarizeDefinitionChange(a, b), "Renamed workflow, changed metadata, changed inputs");
  json::Document c = P(R"({"name":"b","description":"d","steps":[],"metadata":{"k":1}})");
  EXPECT_EQ(SummarizeDefinitionChange(a, c), "Renamed workflow");
}

TEST(SummaryTest, StagedStepsAreCountedAcrossStages) {
  json::Document a = P(R"({"name":"ci","stages":[
      {"name":"build","order":1,"steps":[{"name":"compile","type":"Build","configuration":{}}]},
      {"name":"test","order":2,"steps":[{"name":"unit","type":"Test","configuration":{}}]}]})");
  json::Document b = P(R"({"name":"ci","stages":[
      {"name":"build","order":1,"steps":[
          {"name":"compile","type":"Build","configuration":{"x":1}}]},
      {"name":"test","order":3,"steps":[{"name":"unit","type":"Test","configuration":{}},
                                        {"name":"e2e","type":"Test","configuration":{}}]}]})");
  EXPECT_EQ(SummarizeDefinitionChange(a, b), "Added 1 step, modified 1 step, changed stages");
}

TEST(SummaryTest, StepMovedToAnotherStageIsReorderedAndRenamedStageIsNot) {
  json::Document a = P(R"({"name":"ci","stages":[{"name":"one","steps":[{"name":"x"}]},
                                                 {"name":"two","steps":[]}]})");
  json::Document b = P(R"({"name":"ci","stages":[{"name":"one","steps":[]},
                                                 {"name":"two","steps":[{"name":"x"}]}]})");
  EXPECT_EQ(SummarizeDefinitionChange(a, b), "Reordered steps");
  json::Document c = P(R"({"name":"ci","stages":[{"name":"uno","steps":[{"name":"x"}]},
                                                 {"name":"two","steps":[]}]})");
  EXPECT_EQ(SummarizeDefinitionChange(a, c), "Changed stages");
}

TEST(SummaryTest, StepsWithoutIdsOrWithDuplicateIdsAreCountedByPosition) {
  json::Document a = P(R"({"steps":[{"type":"wait"},{"id":"x","n":1},{"id":"x","n":2}]})");
  json::Document b = P(R"({"steps":[{"type":"wait"},{"id":"x","n":1},{"id":"x","n":3},
                                    {"type":"script"}]})");
  EXPECT_EQ(SummarizeDefinitionChange(a, b), "Added 1 step, modified 1 step");
  EXPECT_TRUE(DiffRoundTrips(a, b));
}

}  // namespace
}  // namespace ledgerflow
