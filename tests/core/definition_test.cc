#include "core/definition.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/core/parse_or_die.h"

namespace ledgerflow::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Validate(const std::string& text, ValidationOptions options = {}) {
  return ValidateDefinition(ParseOrDie(text), options);
}

// A steps-form definition around the given steps array body.
std::string Steps(const std::string& steps) {
  return R"({"name": "wf", "steps": [)" + steps + "]}";
}

// A chain s0 <- s1 <- ... <- s{n-1}, each depending on the one before.
std::string Chain(int n) {
  std::string steps;
  for (int i = 0; i < n; ++i) {
    if (i > 0) steps += ",";
    steps += R"({"id": "s)" + std::to_string(i) + R"(", "type": "agent_task")";
    if (i > 0) steps += R"(, "depends_on": ["s)" + std::to_string(i - 1) + R"("])";
    steps += "}";
  }
  return Steps(steps);
}

constexpr char kStaged[] = R"({
  "name": "release", "projectId": "p1", "description": "Build, test, deploy",
  "stages": [
    {"name": "Deploy", "order": 3, "steps": [
      {"name": "ship", "type": "Deploy", "configuration": {"target": "prod"}}]},
    {"name": "Build", "order": 1, "steps": [
      {"name": "compile", "type": "Build", "configuration": {"ingredientId": "i1"}},
      {"name": "lint", "type": "Build", "configuration": {}}]},
    {"name": "Test", "order": 2, "steps": [
      {"name": "unit", "type": "Test", "configuration": {"testSuite": "all"}}]}
  ]})";

TEST(DefinitionTest, ValidStepsFormHasNoErrors) {
  EXPECT_THAT(Validate(R"({
    "name": "fetch and notify", "description": "d", "inputs": {"type": "object"},
    "metadata": {"owner": "ops"},
    "steps": [
      {"id": "fetch", "type": "http_request",
       "config": {"url": "https://x/{{input.id}}", "method": "POST",
                  "headers": {"Accept": "application/json"}, "timeout_seconds": 5},
       "retry": {"max_attempts": 3, "backoff_seconds": 0.5, "backoff_multiplier": 2},
       "timeout_seconds": 30},
      {"id": "check", "type": "condition", "depends_on": ["fetch"],
       "config": {"expression": "steps.fetch.output.status_code < 400",
                  "if_true": ["notify"], "if_false": []}},
      {"id": "notify", "type": "webhook", "depends_on": ["check"],
       "config": {"url": "https://hooks/x"}},
      {"id": "pause", "type": "wait", "config": {"seconds": 0}},
      {"id": "later", "type": "wait", "config": {"until": "2030-01-01T00:00:00Z"}},
      {"id": "each", "type": "loop",
       "config": {"items": [1, 2], "step": {"type": "http_request", "config": {"url": "u"}}}},
      {"id": "review.v2", "type": "agent_task", "config": {"prompt": "p"}}
    ]})"),
              IsEmpty());
}

TEST(DefinitionTest, ValidStagedFormHasNoErrors) {
  EXPECT_THAT(Validate(kStaged), IsEmpty());
}

TEST(DefinitionTest, ViewOfStagedFormUsesNameConfigurationAndStageOrder) {
  json::Document doc = ParseOrDie(kStaged);
  DefinitionView view = ViewDefinition(doc);
  EXPECT_EQ(view.form, DefinitionForm::kStaged);
  ASSERT_EQ(view.steps.size(), 4u);
  EXPECT_EQ(view.steps[0].id, "ship");
  EXPECT_EQ(view.steps[0].type, "Deploy");
  EXPECT_EQ(view.steps[0].stage_index, 0);
  ASSERT_NE(view.steps[0].config, nullptr);
  EXPECT_EQ(json::Serialize(*view.steps[0].config), R"({"target":"prod"})");
  EXPECT_THAT(view.steps[0].implicit_depends_on, ElementsAre("unit"));
  EXPECT_THAT(view.steps[1].implicit_depends_on, IsEmpty());  // compile: first stage
  EXPECT_THAT(view.steps[3].implicit_depends_on, ElementsAre("compile", "lint"));
  EXPECT_THAT(view.steps[3].depends_on, IsEmpty());
}

TEST(DefinitionTest, ImplicitDependenciesSkipEmptyStagesAndBreakOrderTiesByPosition) {
  json::Document doc = ParseOrDie(R"({"name": "p", "stages": [
      {"name": "A", "order": 1, "steps": [{"name": "a", "type": "t"}]},
      {"name": "B", "order": 1, "steps": [{"name": "b", "type": "t"}]},
      {"name": "Empty", "order": 2, "steps": []},
      {"name": "C", "order": 3, "steps": [{"id": "c", "name": "Shown name", "type": "t"}]}]})");
  EXPECT_THAT(ValidateDefinition(doc), IsEmpty());
  DefinitionView view = ViewDefinition(doc);
  ASSERT_EQ(view.steps.size(), 3u);
  EXPECT_THAT(view.steps[0].implicit_depends_on, IsEmpty());
  EXPECT_THAT(view.steps[1].implicit_depends_on, ElementsAre("a"));
  EXPECT_EQ(view.steps[2].id, "c");  // "id" wins over "name"
  EXPECT_EQ(view.steps[2].stage_index, 3);
  EXPECT_THAT(view.steps[2].implicit_depends_on, ElementsAre("b"));
}

TEST(DefinitionTest, ViewOfStepsFormKeepsDocumentOrder) {
  json::Document doc = ParseOrDie(Steps(
      R"({"id": "b", "type": "t", "config": {"k": 1}}, {"id": "a", "type": "t", "depends_on": ["b"]})"));
  DefinitionView view = ViewDefinition(doc);
  EXPECT_EQ(view.form, DefinitionForm::kSteps);
  ASSERT_EQ(view.steps.size(), 2u);
  EXPECT_EQ(view.steps[0].id, "b");
  EXPECT_EQ(view.steps[0].stage_index, -1);
  EXPECT_NE(view.steps[0].config, nullptr);
  EXPECT_EQ(view.steps[1].config, nullptr);
  EXPECT_THAT(view.steps[1].depends_on, ElementsAre("b"));
  EXPECT_THAT(view.steps[1].implicit_depends_on, IsEmpty());
}

TEST(DefinitionTest, MissingDependencyIsNamed) {
  EXPECT_THAT(Validate(Steps(R"({"id": "notify", "type": "t", "depends_on": ["fetch"]})")),
              ElementsAre("Step 'notify' depends on 'fetch' which doesn't exist"));
}

TEST(DefinitionTest, TwoStepCycleIsReportedWithItsPath) {
  EXPECT_THAT(Validate(Steps(R"({"id": "step_a", "type": "t", "depends_on": ["step_b"]},
                                {"id": "step_b", "type": "t", "depends_on": ["step_a"]})")),
              ElementsAre("Cycle detected: step_a \u2192 step_b \u2192 step_a"));
}

TEST(DefinitionTest, ThreeStepCycleIsReportedFromTheStepWhereItCloses) {
  // "x" leads into the cycle but is not part of it.
  EXPECT_THAT(Validate(Steps(R"({"id": "x", "type": "t", "depends_on": ["a"]},
                                {"id": "a", "type": "t", "depends_on": ["b"]},
                                {"id": "b", "type": "t", "depends_on": ["c"]},
                                {"id": "c", "type": "t", "depends_on": ["a"]})")),
              ElementsAre("Cycle detected: a \u2192 b \u2192 c \u2192 a"));
}

TEST(DefinitionTest, SelfDependencyIsACycle) {
  EXPECT_THAT(Validate(Steps(R"({"id": "a", "type": "t", "depends_on": ["a"]})")),
              ElementsAre("Cycle detected: a \u2192 a"));
}

TEST(DefinitionTest, DependingOnALaterStageIsACycleThroughTheStageOrder) {
  EXPECT_THAT(Validate(R"({"name": "p", "stages": [
      {"name": "Build", "order": 1, "steps": [
        {"name": "compile", "type": "Build", "depends_on": ["ship"]}]},
      {"name": "Deploy", "order": 2, "steps": [{"name": "ship", "type": "Deploy"}]}]})"),
              ElementsAre("Cycle detected: compile \u2192 ship \u2192 compile"));
}

TEST(DefinitionTest, ThousandStepChainIsValidWithoutStackOverflow) {
  EXPECT_THAT(Validate(Chain(1000)), IsEmpty());
}

TEST(DefinitionTest, ThousandStepCycleIsFoundIteratively) {
  std::string text = Chain(1000);
  // Close the chain: s0 depends on s999.
  text.replace(text.find(R"("type": "agent_task"})"), 21,
               R"("type": "agent_task", "depends_on": ["s999"]})");
  std::vector<std::string> errors = Validate(text);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("Cycle detected: s0 \u2192 s999 \u2192 s998", 0), 0u) << errors[0];
}

// Two stages of 500 steps: 250,000 implicit dependencies if they were spelled out.
std::string TwoWideStages() {
  std::string text = R"({"name": "wide", "stages": [)";
  for (int stage = 0; stage < 2; ++stage) {
    if (stage > 0) text += ",";
    text += R"({"name": "st)" + std::to_string(stage) + R"(", "order": )" +
            std::to_string(stage) + R"(, "steps": [)";
    for (int i = 0; i < 500; ++i) {
      if (i > 0) text += ",";
      text += R"({"name": "s)" + std::to_string(stage) + "_" + std::to_string(i) +
              R"(", "type": "Build", "configuration": {}})";
    }
    text += "]}";
  }
  return text + "]}";
}

// Speed is measured in bench/diff_bench.cc; here only that wide definitions are valid.
TEST(DefinitionTest, ThousandStepDefinitionsAreValid) {
  for (const std::string& text : {Chain(1000), TwoWideStages()}) {
    json::Document doc = ParseOrDie(text);
    EXPECT_THAT(ValidateDefinition(doc, {}), IsEmpty());
  }
}

TEST(DefinitionTest, DuplicateStepIdIsReportedOnce) {
  EXPECT_THAT(Validate(Steps(R"({"id": "x", "type": "t"}, {"id": "x", "type": "t"},
                                {"id": "x", "type": "t"})")),
              ElementsAre("Duplicate step id 'x'"));
}

TEST(DefinitionTest, MissingTypeIsNamed) {
  EXPECT_THAT(Validate(Steps(R"({"id": "x"})")), ElementsAre("Step 'x' is missing 'type'"));
}

TEST(DefinitionTest, TypeMustBeANonEmptyString) {
  EXPECT_THAT(Validate(Steps(R"({"id": "x", "type": 3}, {"id": "y", "type": ""})")),
              ElementsAre("Step 'x': 'type' must be a non-empty string, got number",
                          "Step 'y': 'type' must be a non-empty string, got string"));
}

TEST(DefinitionTest, AnyOtherTypeGoesToWorkersButNearMissesOfBuiltinsAreRefused) {
  EXPECT_THAT(Validate(Steps(R"({"id": "a", "type": "agent_task"}, {"id": "b", "type": "Build"},
                                {"id": "c", "type": "my.custom-type"})")),
              IsEmpty());
  EXPECT_THAT(Validate(Steps(R"({"id": "s", "type": "Script", "config": {"command": "ls"}},
                                {"id": "h", "type": "http-request"})")),
              ElementsAre("Step 's' has unknown type 'Script' (did you mean 'script'?)",
                          "Step 'h' has unknown type 'http-request' (did you mean "
                          "'http_request'?)"));
}

TEST(DefinitionTest, DefinitionMustBeAnObject) {
  EXPECT_THAT(Validate("[1]"), ElementsAre("Definition must be an object, got array"));
}

TEST(DefinitionTest, NameIsRequiredNonEmptyAndBounded) {
  EXPECT_THAT(Validate(R"({"steps": []})"), ElementsAre("Definition is missing 'name'"));
  EXPECT_THAT(Validate(R"({"name": 1, "steps": []})"),
              ElementsAre("Definition: 'name' must be a string, got number"));
  EXPECT_THAT(Validate(R"({"name": "", "steps": []})"),
              ElementsAre("Definition: 'name' must not be empty"));
  EXPECT_THAT(Validate(R"({"name": ")" + std::string(201, 'n') + R"(", "steps": []})"),
              ElementsAre("Definition: 'name' must be at most 200 characters"));
  // Characters, not bytes: 200 two-byte characters are fine.
  std::string accented;
  for (int i = 0; i < 200; ++i) accented += "\xC3\xA9";
  EXPECT_THAT(Validate(R"({"name": ")" + accented + R"(", "steps": []})"), IsEmpty());
}

TEST(DefinitionTest, OptionalDefinitionFieldsAreTypeChecked) {
  EXPECT_THAT(Validate(R"({"name": "n", "description": 1, "inputs": [], "metadata": "m",
                           "steps": []})"),
              ElementsAre("Definition: 'description' must be a string, got number",
                          "Definition: 'inputs' must be an object (a JSON Schema), got array",
                          "Definition: 'metadata' must be an object, got string"));
}

TEST(DefinitionTest, ExactlyOneOfStepsOrStages) {
  EXPECT_THAT(Validate(R"({"name": "n"})"),
              ElementsAre("Definition must have 'steps' or 'stages'"));
  EXPECT_THAT(Validate(R"({"name": "n", "steps": [], "stages": []})"),
              ElementsAre("Definition must have either 'steps' or 'stages', not both"));
  EXPECT_THAT(Validate(R"({"name": "n", "steps": {}})"),
              ElementsAre("Definition: 'steps' must be an array, got object"));
}

TEST(DefinitionTest, StepMustBeAnObjectWithAnId) {
  EXPECT_THAT(Validate(Steps(R"("fetch", {"type": "t"}, {"id": 7, "type": "t"},
                                {"id": "", "type": "t"})")),
              ElementsAre("Step at index 0 must be an object, got string",
                          "Step at index 1 is missing 'id'",
                          "Step at index 2: 'id' must be a string, got number",
                          "Step at index 3: 'id' must not be empty"));
}

TEST(DefinitionTest, IdLengthAndCharactersAreLimited) {
  ValidationOptions options;
  options.max_id_length = 4;
  EXPECT_THAT(Validate(Steps(R"({"id": "abcde", "type": "t"}, {"id": "a b", "type": "t"})"),
                       options),
              ElementsAre("Step at index 0: 'id' must be at most 4 characters",
                          "Step 'a b': 'id' may contain only letters, digits, '_', '.' and '-'"));
}

TEST(DefinitionTest, WrongFieldTypesNameStepFieldAndTypes) {
  EXPECT_THAT(
      Validate(Steps(R"({"id": "fetch", "type": "t", "depends_on": "x", "config": [],
                         "retry": 3, "timeout_seconds": "5"},
                        {"id": "g", "type": "t", "depends_on": ["fetch", 2]})")),
      ElementsAre("Step 'fetch': 'config' must be an object, got array",
                  "Step 'fetch': 'depends_on' must be an array of strings, got string",
                  "Step 'fetch': 'retry' must be an object, got number",
                  "Step 'fetch': 'timeout_seconds' must be a positive number, got '5'",
                  "Step 'g': 'depends_on' must be an array of strings, got number at index 1"));
}

TEST(DefinitionTest, RetryFieldsAreRangeChecked) {
  EXPECT_THAT(Validate(Steps(R"({"id": "r", "type": "t", "timeout_seconds": 0, "retry":
                                {"max_attempts": 0, "backoff_seconds": -1,
                                 "backoff_multiplier": 0.5}},
                                {"id": "q", "type": "t", "retry": {"max_attempts": 101}},
                                {"id": "p", "type": "t", "retry": {"max_attempts": 2.5}})")),
              ElementsAre("Step 'r': 'retry.max_attempts' must be an integer from 1 to 100, got 0",
                          "Step 'r': 'retry.backoff_seconds' must be a number >= 0, got -1",
                          "Step 'r': 'retry.backoff_multiplier' must be a number >= 1, got 0.5",
                          "Step 'r': 'timeout_seconds' must be a positive number, got 0",
                          "Step 'q': 'retry.max_attempts' must be an integer from 1 to 100, got 101",
                          "Step 'p': 'retry.max_attempts' must be an integer from 1 to 100, got 2.5"));
}

TEST(DefinitionTest, HttpRequestConfigIsChecked) {
  EXPECT_THAT(
      Validate(Steps(R"({"id": "h", "type": "http_request",
                         "config": {"method": "FETCH", "headers": {"A": 1}, "timeout_seconds": -2}},
                        {"id": "i", "type": "http_request"},
                        {"id": "j", "type": "http_request", "config": {"url": 5, "headers": []}})")),
      ElementsAre("Step 'h' is missing 'config.url'",
                  "Step 'h': 'config.method' must be one of GET, POST, PUT, PATCH, DELETE, HEAD, "
                  "OPTIONS, got 'FETCH'",
                  "Step 'h': 'config.headers.A' must be a string, got number",
                  "Step 'h': 'config.timeout_seconds' must be a positive number, got -2",
                  "Step 'i' is missing 'config.url'",
                  "Step 'j': 'config.url' must be a non-empty string, got number",
                  "Step 'j': 'config.headers' must be an object of strings, got array"));
}

TEST(DefinitionTest, WebhookNeedsUrl) {
  EXPECT_THAT(Validate(Steps(R"({"id": "w", "type": "webhook", "config": {}})")),
              ElementsAre("Step 'w' is missing 'config.url'"));
}

TEST(DefinitionTest, ScriptStepsAreRefusedUnlessAllowed) {
  std::string text = Steps(R"({"id": "s", "type": "script", "config": {"command": "make"}})");
  EXPECT_THAT(Validate(text), ElementsAre("Step 's' is a script step; scripts are disabled on "
                                          "this server (start it with --allow-scripts)"));
  ValidationOptions allow;
  allow.allow_scripts = true;
  EXPECT_THAT(Validate(text, allow), IsEmpty());
  EXPECT_THAT(Validate(Steps(R"({"id": "s", "type": "script"})"), allow),
              ElementsAre("Step 's' is missing 'config.command'"));
}

TEST(DefinitionTest, ScriptInsideALoopIsRefusedToo) {
  EXPECT_THAT(Validate(Steps(R"({"id": "l", "type": "loop", "config": {"items": "{{input.xs}}",
                                 "step": {"type": "script", "config": {"command": "x"}}}})")),
              ElementsAre("Step 'l' contains a script step; scripts are disabled on this "
                          "server (start it with --allow-scripts)"));
}

TEST(DefinitionTest, ConditionNeedsExpressionAndExistingBranchSteps) {
  EXPECT_THAT(Validate(Steps(R"({"id": "c", "type": "condition",
                                 "config": {"if_true": ["ghost"], "if_false": "y"}})")),
              ElementsAre("Step 'c' is missing 'config.expression'",
                          "Step 'c': 'config.if_true' names 'ghost' which doesn't exist",
                          "Step 'c': 'config.if_false' must be an array of step ids, got string"));
}

TEST(DefinitionTest, ConditionExpressionMustParse) {
  EXPECT_THAT(Validate(Steps(R"({"id": "check", "type": "condition",
                                 "config": {"expression": "input.a == "}},
                                {"id": "other", "type": "condition",
                                 "config": {"expression": "status == 'ok'"}})")),
              ElementsAre("Step 'check': 'config.expression' does not parse: expected an "
                          "operand at position 11",
                          "Step 'other': 'config.expression' does not parse: unknown name "
                          "'status' at position 0: paths start with input. or steps."));
}

TEST(DefinitionTest, ConditionExpressionMustNameExistingSteps) {
  EXPECT_THAT(
      Validate(Steps(R"({"id": "check", "type": "condition",
                         "config": {"expression":
                           "steps.nope.output.x == 1 && steps.check.status || steps.nope.status"}},
                        {"id": "l", "type": "loop", "config": {"items": [1], "step":
                          {"type": "condition", "config": {"expression": "steps.ghost.status"}}}})")),
      ElementsAre("Step 'check': 'config.expression' names step 'nope' which doesn't exist",
                  "Step 'l': 'config.step.config.expression' names step 'ghost' which doesn't "
                  "exist"));
}

TEST(DefinitionTest, TemplatesMustNameExistingSteps) {
  EXPECT_THAT(
      Validate(Steps(R"({"id": "n", "type": "webhook",
                         "config": {"url": "https://h/{{steps.ghost.output.id}}",
                                    "headers": {"X-Run": "{{steps.n.status}}"}}},
                        {"id": "t", "type": "agent_task",
                         "config": {"prompt": ["{{input.x}}", "{{ steps.missing.output }}"]}})")),
      ElementsAre("Step 'n': 'config.url' names step 'ghost' which doesn't exist",
                  "Step 't': 'config.prompt.1' names step 'missing' which doesn't exist"));
  EXPECT_THAT(Validate(R"({"name": "p", "stages": [{"name": "S", "order": 1, "steps": [
                            {"name": "hit", "type": "Call",
                             "configuration": {"to": "{{steps.away.output}}"}}]}]})"),
              ElementsAre("Step 'hit': 'configuration.to' names step 'away' which doesn't exist"));
}

TEST(DefinitionTest, MalformedTemplatesAreLeftToTheRun) {
  // Rendering reports these when the step runs; validation only checks step names.
  EXPECT_THAT(Validate(Steps(R"({"id": "n", "type": "webhook",
                                 "config": {"url": "https://h/{{foo}}/{{steps.n.status"}})")),
              IsEmpty());
}

TEST(DefinitionTest, LoopNeedsItemsAndAStep) {
  EXPECT_THAT(Validate(Steps(R"({"id": "l", "type": "loop", "config": {}},
                                {"id": "m", "type": "loop", "config": {"items": 3, "step": []}},
                                {"id": "n", "type": "loop",
                                 "config": {"items": [], "step": {"type": "webhook"}}})")),
              ElementsAre("Step 'l' is missing 'config.items'",
                          "Step 'l' is missing 'config.step'",
                          "Step 'm': 'config.items' must be an array or a template string, got number",
                          "Step 'm': 'config.step' must be an object, got array",
                          "Step 'n' is missing 'config.step.config.url'"));
}

TEST(DefinitionTest, WaitNeedsSecondsOrUntil) {
  EXPECT_THAT(Validate(Steps(R"({"id": "a", "type": "wait"},
                                {"id": "b", "type": "wait", "config": {"seconds": -1}},
                                {"id": "c", "type": "wait", "config": {"until": 5}},
                                {"id": "d", "type": "wait", "config": {"seconds": 1, "until": "x"}})")),
              ElementsAre("Step 'a' needs 'config.seconds' or 'config.until'",
                          "Step 'b': 'config.seconds' must be a number >= 0, got -1",
                          "Step 'c': 'config.until' must be a non-empty string, got number",
                          "Step 'd': give either 'config.seconds' or 'config.until', not both"));
}

TEST(DefinitionTest, StagedFormNamesConfigurationInMessages) {
  EXPECT_THAT(Validate(R"({"name": "p", "stages": [{"name": "Call", "order": 1, "steps": [
                            {"name": "hit", "type": "http_request", "configuration": {}}]}]})"),
              ElementsAre("Step 'hit' is missing 'configuration.url'"));
}

TEST(DefinitionTest, StagesAreChecked) {
  EXPECT_THAT(Validate(R"({"name": "p", "stages": [
      3,
      {"order": 1, "steps": []},
      {"name": "B", "order": "2", "steps": {}},
      {"name": "B", "order": 3, "steps": [{"type": "Build"}]}]})"),
              ElementsAre("Stage at index 0 must be an object, got number",
                          "Stage at index 1 is missing 'name'",
                          "Stage 'B': 'order' must be an integer, got '2'",
                          "Stage 'B': 'steps' must be an array, got object",
                          "Duplicate stage name 'B'",
                          "Step at index 0 of stage 'B' is missing 'id' (or 'name')"));
}

TEST(DefinitionTest, TooManyStepsNamesTheLimit) {
  ValidationOptions options;
  options.max_steps = 10;
  EXPECT_THAT(Validate(Chain(11), options),
              ElementsAre("Definition has 11 steps; the limit is 10"));
  EXPECT_THAT(Validate(Chain(10), options), IsEmpty());
}

TEST(DefinitionTest, AllErrorsAreCollectedInDocumentOrder) {
  EXPECT_THAT(
      Validate(R"({"steps": [
        {"id": "a", "type": "t", "depends_on": ["b", "zz"]},
        {"id": "b", "depends_on": ["a"]},
        {"id": "a", "type": "script", "config": {"command": "rm"}}]})"),
      ElementsAre("Definition is missing 'name'",
                  "Step 'a' depends on 'zz' which doesn't exist", "Step 'b' is missing 'type'",
                  "Duplicate step id 'a'",
                  "Step 'a' is a script step; scripts are disabled on this server (start it "
                  "with --allow-scripts)",
                  "Cycle detected: a \u2192 b \u2192 a"));
}

TEST(DefinitionTest, ErrorsBeyondTheLimitAreCounted) {
  ValidationOptions options;
  options.max_errors = 2;
  EXPECT_THAT(Validate(Steps(R"({"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"})"), options),
              ElementsAre("Step 'a' is missing 'type'", "Step 'b' is missing 'type'",
                          "... and 2 more errors"));
}

TEST(DefinitionTest, CheckDefinitionIsValidationFailedWithDetails) {
  json::Document doc = ParseOrDie(Steps(R"({"id": "a"})"));
  Status status = CheckDefinition(doc);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.reason(), "validation_failed");
  EXPECT_THAT(status.details(), ElementsAre("Step 'a' is missing 'type'"));
  EXPECT_TRUE(CheckDefinition(ParseOrDie(Chain(3))).ok());
}

}  // namespace
}  // namespace ledgerflow::core

namespace ledgerflow::core {
namespace {

TEST(DefinitionTest, MaxConcurrentRunsIsAnIntegerFrom1To1000) {
  for (const char* bad : {"0", "1001", "2.5", "\"3\"", "-1"}) {
    auto errors = ValidateDefinition(
        *json::Parse(std::string(R"({"name": "w", "max_concurrent_runs": )") + bad +
                     R"(, "steps": [{"id": "a", "type": "agent_task"}]})"));
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].rfind("Definition: 'max_concurrent_runs' must be an integer from 1 to 1000", 0), 0u)
        << errors[0];
  }
  EXPECT_TRUE(ValidateDefinition(*json::Parse(
                  R"({"name": "w", "max_concurrent_runs": 1000, "steps": [{"id": "a", "type": "agent_task"}]})"))
                  .empty());
}

}  // namespace
}  // namespace ledgerflow::core
