#include "core/run_plan.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/input_schema.h"

namespace ledgerflow::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

json::Document ParseOrDie(const std::string& text) {
  auto doc = json::Parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString() << "\n" << text;
  return doc.ok() ? std::move(doc).value() : json::Document();
}

// A plan and a run state over it, with every step pending, already started.
struct Fixture {
  explicit Fixture(const std::string& definition) {
    auto made = MakeRunPlan(ParseOrDie(definition));
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    plan = *made;
    state.status = RunStatus::kRunning;
    for (const PlannedStep& s : plan->steps) {
      StepRun step;
      step.step_id = s.id;
      state.steps.push_back(std::move(step));
    }
  }
  std::vector<std::string> Ids(const std::vector<size_t>& indices) const {
    std::vector<std::string> ids;
    for (size_t i : indices) ids.push_back(plan->steps[i].id);
    return ids;
  }
  std::vector<std::string> Started() { return Ids(DecideNext(*plan, state).start); }
  std::vector<std::string> Skipped() {
    std::vector<std::string> ids;
    for (const SkipDecision& s : DecideNext(*plan, state).skip) ids.push_back(plan->steps[s.step].id);
    return ids;
  }
  void Set(const std::string& id, StepStatus status, std::string output = "") {
    StepRun* s = state.FindStep(id);
    ASSERT_NE(s, nullptr) << id;
    s->status = status;
    s->output = std::move(output);
  }
  void ApplySkips() {
    for (const SkipDecision& s : DecideNext(*plan, state).skip) {
      Set(plan->steps[s.step].id, StepStatus::kSkipped);
    }
  }

  std::shared_ptr<const RunPlan> plan;
  RunState state;
};

constexpr const char* kDiamond = R"({"name": "d", "steps": [
  {"id": "fetch", "type": "http_request", "config": {"url": "http://x"}},
  {"id": "left", "type": "agent_task", "depends_on": ["fetch"]},
  {"id": "right", "type": "agent_task", "depends_on": ["fetch"]},
  {"id": "join", "type": "agent_task", "depends_on": ["left", "right"]}]})";

TEST(RunPlanTest, RootsStartFirstThenParallelBranchesThenTheJoin) {
  Fixture f(kDiamond);
  EXPECT_THAT(f.Started(), ElementsAre("fetch"));
  f.Set("fetch", StepStatus::kRunning);
  EXPECT_THAT(f.Started(), IsEmpty());
  f.Set("fetch", StepStatus::kCompleted);
  EXPECT_THAT(f.Started(), ElementsAre("left", "right"));
  f.Set("left", StepStatus::kCompleted);
  f.Set("right", StepStatus::kRunning);
  EXPECT_THAT(f.Started(), IsEmpty());
  f.Set("right", StepStatus::kCompleted);
  EXPECT_THAT(f.Started(), ElementsAre("join"));
  f.Set("join", StepStatus::kCompleted);
  RunDecision d = DecideNext(*f.plan, f.state);
  EXPECT_TRUE(d.finish);
  EXPECT_EQ(d.status, RunStatus::kCompleted);
}

TEST(RunPlanTest, TopologicalOrderFollowsDependenciesWrittenOutOfOrder) {
  Fixture f(R"({"name": "o", "steps": [
    {"id": "c", "type": "agent_task", "depends_on": ["b"]},
    {"id": "b", "type": "agent_task", "depends_on": ["a"]},
    {"id": "a", "type": "agent_task"}]})");
  EXPECT_THAT(f.Ids(f.plan->order), ElementsAre("a", "b", "c"));
  EXPECT_THAT(f.Started(), ElementsAre("a"));
}

constexpr const char* kBranches = R"({"name": "c", "steps": [
  {"id": "check", "type": "condition",
   "config": {"expression": "input.go == true", "if_true": ["yes"], "if_false": ["no"]}},
  {"id": "yes", "type": "agent_task"},
  {"id": "no", "type": "agent_task"},
  {"id": "after_no", "type": "agent_task", "depends_on": ["no"]},
  {"id": "join", "type": "agent_task", "depends_on": ["yes", "no"]}]})";

TEST(RunPlanTest, BranchTargetsWaitForTheirCondition) {
  Fixture f(kBranches);
  EXPECT_THAT(f.Started(), ElementsAre("check"));
}

TEST(RunPlanTest, TheBranchNotTakenIsSkippedAndWhatDependsOnlyOnItToo) {
  Fixture f(kBranches);
  f.Set("check", StepStatus::kCompleted, R"({"result":true})");
  EXPECT_THAT(f.Started(), ElementsAre("yes"));
  EXPECT_THAT(f.Skipped(), ElementsAre("no", "after_no"));
  f.ApplySkips();
  f.Set("yes", StepStatus::kCompleted);
  // A join with one dependency that ran, runs.
  EXPECT_THAT(f.Started(), ElementsAre("join"));
  f.Set("join", StepStatus::kCompleted);
  EXPECT_TRUE(DecideNext(*f.plan, f.state).finish);
}

TEST(RunPlanTest, AFalseConditionTakesTheOtherBranch) {
  Fixture f(kBranches);
  f.Set("check", StepStatus::kCompleted, R"({"result": false})");
  EXPECT_THAT(f.Started(), ElementsAre("no"));
  EXPECT_THAT(f.Skipped(), ElementsAre("yes"));
}

TEST(RunPlanTest, AJoinOfOnlySkippedStepsIsSkipped) {
  Fixture f(R"({"name": "s", "steps": [
    {"id": "check", "type": "condition", "config": {"expression": "false", "if_true": ["a", "b"]}},
    {"id": "a", "type": "agent_task"}, {"id": "b", "type": "agent_task"},
    {"id": "both", "type": "agent_task", "depends_on": ["a", "b"]},
    {"id": "free", "type": "agent_task"}]})");
  f.Set("check", StepStatus::kCompleted, R"({"result":false})");
  EXPECT_THAT(f.Skipped(), ElementsAre("a", "b", "both"));
  EXPECT_THAT(f.Started(), ElementsAre("free"));
}

TEST(RunPlanTest, AFailedStepStopsNewStartsAndFailsTheRunOnceNothingRuns) {
  Fixture f(kDiamond);
  f.Set("fetch", StepStatus::kCompleted);
  f.Set("left", StepStatus::kFailed);
  f.state.FindStep("left")->error = "HTTP 500";
  f.Set("right", StepStatus::kRunning);
  RunDecision d = DecideNext(*f.plan, f.state);
  EXPECT_THAT(d.start, IsEmpty());
  EXPECT_FALSE(d.finish);
  f.Set("right", StepStatus::kCompleted);
  d = DecideNext(*f.plan, f.state);
  EXPECT_TRUE(d.finish);
  EXPECT_EQ(d.status, RunStatus::kFailed);
  EXPECT_EQ(d.error, "Step 'left' failed: HTTP 500");
}

TEST(RunPlanTest, StagesRunOneAfterAnotherByOrder) {
  Fixture f(R"({"name": "p", "stages": [
    {"name": "test", "order": 2, "steps": [{"name": "unit", "type": "Test"}, {"name": "lint", "type": "Test"}]},
    {"name": "build", "order": 1, "steps": [{"name": "compile", "type": "Build"}]},
    {"name": "deploy", "order": 3, "steps": [{"name": "ship", "type": "Deploy"}]}]})");
  EXPECT_THAT(f.Started(), ElementsAre("compile"));
  f.Set("compile", StepStatus::kCompleted);
  EXPECT_THAT(f.Started(), ElementsAre("unit", "lint"));
  f.Set("unit", StepStatus::kCompleted);
  EXPECT_THAT(f.Started(), ElementsAre("lint"));
  f.Set("lint", StepStatus::kCompleted);
  EXPECT_THAT(f.Started(), ElementsAre("ship"));
}

TEST(RunPlanTest, AFinishedRunDecidesNothing) {
  Fixture f(kDiamond);
  f.state.status = RunStatus::kCompleted;
  RunDecision d = DecideNext(*f.plan, f.state);
  EXPECT_THAT(d.start, IsEmpty());
  EXPECT_FALSE(d.finish);
}

TEST(RunPlanTest, AnEmptyDefinitionFinishesAtOnce) {
  Fixture f(R"({"name": "e", "steps": []})");
  EXPECT_TRUE(DecideNext(*f.plan, f.state).finish);
}

TEST(RunPlanTest, ReadsRetryTimeoutAndTheConcurrencyLimit) {
  Fixture f(R"({"name": "r", "max_concurrent_runs": 3, "steps": [
    {"id": "a", "type": "http_request", "config": {"url": "http://x", "timeout_seconds": 2.5},
     "retry": {"max_attempts": 4, "backoff_seconds": 0.5, "backoff_multiplier": 3}},
    {"id": "b", "type": "wait", "config": {"seconds": 1}, "timeout_seconds": 7}]})");
  EXPECT_EQ(f.plan->max_concurrent_runs, 3);
  const PlannedStep* a = f.plan->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->retry.max_attempts, 4);
  EXPECT_DOUBLE_EQ(a->retry.backoff_seconds, 0.5);
  EXPECT_DOUBLE_EQ(a->retry.backoff_multiplier, 3);
  EXPECT_EQ(a->timeout_ms, 2500);
  EXPECT_EQ(f.plan->Find("b")->timeout_ms, 7000);
  EXPECT_EQ(f.plan->Find("b")->retry.max_attempts, 1);
}

TEST(RunPlanTest, ACycleIsRefused) {
  auto made = MakeRunPlan(ParseOrDie(R"({"name": "x", "steps": [
    {"id": "a", "type": "agent_task", "depends_on": ["b"]},
    {"id": "b", "type": "agent_task", "depends_on": ["a"]}]})"));
  EXPECT_FALSE(made.ok());
}

TEST(RetryTest, BackoffGrowsByTheMultiplierUntilAttemptsRunOut) {
  RetryPolicy p{.max_attempts = 4, .backoff_seconds = 0.5, .backoff_multiplier = 2};
  EXPECT_EQ(DecideRetry(p, 1).delay_ms, 500);
  EXPECT_EQ(DecideRetry(p, 2).delay_ms, 1000);
  EXPECT_EQ(DecideRetry(p, 3).delay_ms, 2000);
  EXPECT_TRUE(DecideRetry(p, 3).retry);
  EXPECT_FALSE(DecideRetry(p, 4).retry);
  EXPECT_FALSE(DecideRetry(RetryPolicy{}, 1).retry);
}

TEST(RetryTest, AHugeMultiplierIsBoundedToADay) {
  RetryPolicy p{.max_attempts = 100, .backoff_seconds = 10, .backoff_multiplier = 1e300};
  EXPECT_EQ(DecideRetry(p, 50).delay_ms, 86400000);
}

TEST(RunStateTest, FoldsARunAndRoundTripsThroughItsRecord) {
  RunState s;
  auto data = [](const char* text) { return ParseOrDie(text); };
  EvolveRun(s, kRunDispatched,
            data(R"({"workflow_id":"wf_1","workflow_version":2,"input_data":{"n":1},
                     "trigger":"manual","reason":"why","idempotency_key":"k",
                     "request_fingerprint":"f","steps":["a","b"]})"),
            EventMeta{.position = 7, .stream_version = 1, .at_ms = 1000, .actor = "key_1"},
            "org_1", "run_1");
  EvolveRun(s, kRunStarted, data("{}"), EventMeta{.position = 8, .stream_version = 2, .at_ms = 1500, .actor = ""},
            "org_1", "run_1");
  EvolveRun(s, kStepStarted, data(R"({"step_id":"a","attempt":1})"),
            EventMeta{.position = 8, .stream_version = 3, .at_ms = 1500, .actor = ""}, "org_1", "run_1");
  EvolveRun(s, kStepRetrying,
            data(R"({"step_id":"a","attempt":1,"error":"boom","retry_at":"1970-01-01T00:00:03.000Z"})"),
            EventMeta{.position = 9, .stream_version = 4, .at_ms = 2000, .actor = ""}, "org_1", "run_1");
  EXPECT_EQ(s.FindStep("a")->retry_at_ms, 3000);
  EXPECT_EQ(s.FindStep("a")->status, StepStatus::kRunning);
  EvolveRun(s, kStepStarted, data(R"({"step_id":"a","attempt":2})"),
            EventMeta{.position = 10, .stream_version = 5, .at_ms = 3000, .actor = ""}, "org_1", "run_1");
  EvolveRun(s, kStepCompleted, data(R"({"step_id":"a","attempt":2,"output":{"x":[1,2]}})"),
            EventMeta{.position = 11, .stream_version = 6, .at_ms = 3500, .actor = ""}, "org_1", "run_1");
  EvolveRun(s, kStepSkipped, data(R"({"step_id":"b","reason":"r"})"),
            EventMeta{.position = 11, .stream_version = 7, .at_ms = 3500, .actor = ""}, "org_1", "run_1");
  EvolveRun(s, kRunCompleted, data("{}"), EventMeta{.position = 11, .stream_version = 8, .at_ms = 3500, .actor = ""},
            "org_1", "run_1");
  EXPECT_EQ(s.status, RunStatus::kCompleted);
  EXPECT_EQ(s.actor, "key_1");
  EXPECT_EQ(s.dispatched_position, 7u);
  EXPECT_EQ(s.last_position, 11u);
  EXPECT_EQ(s.stream_version, 8u);
  EXPECT_EQ(s.FindStep("a")->attempt, 2);
  EXPECT_EQ(s.FindStep("a")->started_at_ms, 1500);
  EXPECT_EQ(s.FindStep("a")->output, R"({"x":[1,2]})");
  EXPECT_EQ(s.duration_seconds(), 2.0);
  auto back = DecodeRunState(EncodeRunState(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeRunState(*back), EncodeRunState(s));
  EXPECT_EQ(back->input_data, R"({"n":1})");
}

TEST(InputSchemaTest, NamesThePathAndKeywordThatFailed) {
  json::Document schema = ParseOrDie(R"({"type": "object", "required": ["count"],
      "properties": {"count": {"type": "integer", "minimum": 1}}})");
  EXPECT_TRUE(ValidateRunInput(&schema, ParseOrDie(R"({"count": 2})")).ok());
  Status low = ValidateRunInput(&schema, ParseOrDie(R"({"count": 0})"));
  EXPECT_EQ(low.reason(), "invalid_input");
  EXPECT_THAT(low.message(), ::testing::HasSubstr("input_data/count"));
  EXPECT_THAT(low.message(), ::testing::HasSubstr("minimum"));
  Status missing = ValidateRunInput(&schema, ParseOrDie("{}"));
  EXPECT_THAT(missing.message(), ::testing::HasSubstr("required"));
  EXPECT_TRUE(ValidateRunInput(nullptr, ParseOrDie("{}")).ok());
}

}  // namespace
}  // namespace ledgerflow::core
