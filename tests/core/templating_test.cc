#include "core/templating.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/core/parse_or_die.h"

namespace ledgerflow::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kContext[] = R"({
  "input": {"name": "ada", "count": 3, "ratio": 0.5, "tags": ["a", "b"], "user": {"id": 7},
            "none": null, "flag": true, "id": "r/1"},
  "steps": {"fetch": {"output": {"body": {"id": "x1"}, "code": 200}, "status": "completed"}},
  "item": {"sku": "k-1"},
  "index": 2})";

// `config` rendered against kContext, serialized; the error message on failure.
std::string Render(const std::string& config) {
  json::Document context = ParseOrDie(kContext);
  StatusOr<json::Document> rendered = RenderTemplates(ParseOrDie(config), context);
  if (!rendered.ok()) return "error: " + rendered.status().message();
  return json::Serialize(*rendered);
}

// The serialized form of `json`, to compare with Render() whatever the spacing.
std::string Compact(const std::string& json) { return json::Serialize(ParseOrDie(json)); }

TEST(TemplatingTest, WholePlaceholderKeepsTheValueType) {
  EXPECT_EQ(Render(R"({"n": "{{input.count}}", "r": "{{input.ratio}}", "t": "{{input.tags}}",
                       "u": "{{input.user}}", "f": "{{input.flag}}", "s": "{{input.name}}",
                       "z": "{{input.none}}", "m": "{{input.missing}}"})"),
            Compact(R"({"n": 3, "r": 0.5, "t": ["a", "b"], "u": {"id": 7}, "f": true,
                        "s": "ada", "z": null, "m": null})"));
}

TEST(TemplatingTest, PlaceholderAmongTextIsInterpolated) {
  EXPECT_EQ(Render(R"({"m": "Hi {{input.name}}, {{input.count}} of {{input.tags}} for {{input.user}} [{{input.none}}{{input.missing}}] {{input.flag}} {{input.ratio}}"})"),
            Compact(R"({"m": "Hi ada, 3 of [\"a\",\"b\"] for {\"id\":7} [] true 0.5"})"));
}

TEST(TemplatingTest, TextAroundOnePlaceholderMakesAString) {
  EXPECT_EQ(Render(R"({"a": " {{input.count}}", "b": "{{input.count}}s", "c": "{{input.none}} "})"),
            Compact(R"({"a": " 3", "b": "3s", "c": " "})"));
}

TEST(TemplatingTest, TwoAdjacentPlaceholdersAreText) {
  EXPECT_EQ(Render(R"({"a": "{{input.count}}{{input.count}}"})"), Compact(R"({"a": "33"})"));
}

TEST(TemplatingTest, WhitespaceInsideTheBracesIsIgnored) {
  EXPECT_EQ(Render(R"({"a": "{{  input.count\t}}", "b": "id={{ input.name }}"})"),
            Compact(R"({"a": 3, "b": "id=ada"})"));
}

TEST(TemplatingTest, NestedObjectsAndArraysAreRendered) {
  EXPECT_EQ(Render(R"({"a": [{"b": "{{steps.fetch.output.body.id}}"}, "x{{index}}", 5, null],
                       "c": {"d": {"e": "{{item.sku}}", "f": false}}})"),
            Compact(R"({"a": [{"b": "x1"}, "x2", 5, null], "c": {"d": {"e": "k-1", "f": false}}})"));
}

TEST(TemplatingTest, MemberNamesAreLeftAlone) {
  EXPECT_EQ(Render(R"({"{{input.name}}": "{{input.name}}"})"),
            Compact(R"({"{{input.name}}": "ada"})"));
}

TEST(TemplatingTest, LoopItemAndIndexAreReadable) {
  EXPECT_EQ(Render(R"({"item": "{{item}}", "sku": "{{item.sku}}", "i": "{{index}}",
                       "label": "#{{index}}: {{item.sku}}", "whole": "{{item}}!"})"),
            Compact(R"({"item": {"sku": "k-1"}, "sku": "k-1", "i": 2, "label": "#2: k-1",
                        "whole": "{\"sku\":\"k-1\"}!"})"));
}

TEST(TemplatingTest, StepOutputsStatusesAndArrayElementsAreReadable) {
  EXPECT_EQ(Render(R"({"code": "{{steps.fetch.output.code}}", "s": "{{steps.fetch.status}}",
                       "tag": "{{input.tags.1}}", "gone": "{{steps.ghost.output}}"})"),
            Compact(R"({"code": 200, "s": "completed", "tag": "b", "gone": null})"));
}

TEST(TemplatingTest, StringsWithoutPlaceholdersStayAsWritten) {
  EXPECT_EQ(Render(R"({"a": "plain", "b": "a }} b", "c": "{ single }", "d": "", "e": "{"})"),
            Compact(R"({"a": "plain", "b": "a }} b", "c": "{ single }", "d": "", "e": "{"})"));
}

TEST(TemplatingTest, ConfigThatIsOneStringOrScalarIsRendered) {
  EXPECT_EQ(Render(R"("{{input.user}}")"), Compact(R"({"id": 7})"));
  EXPECT_EQ(Render("12"), "12");
}

TEST(TemplatingTest, UnknownRootNamesThePointerAndTheText) {
  EXPECT_EQ(Render(R"({"headers": {"X-A/B": ["ok", "Bearer {{foo}}"]}})"),
            "error: Template at '/headers/X-A~1B/1' (\"Bearer {{foo}}\"): unknown name 'foo' "
            "at position 9: paths start with input., steps., item or index");
}

TEST(TemplatingTest, UnterminatedBracesAreAnError) {
  EXPECT_EQ(Render(R"({"url": "https://x/{{input.id"})"),
            "error: Template at '/url' (\"https://x/{{input.id\"): unterminated '{{' at "
            "position 10");
  EXPECT_EQ(Render(R"({"url": "{{input.id}} and {{"})"),
            "error: Template at '/url' (\"{{input.id}} and {{\"): unterminated '{{' at "
            "position 17");
}

TEST(TemplatingTest, PlaceholderMustHoldExactlyOnePath) {
  EXPECT_EQ(Render(R"({"a": "{{input.a input.b}}"})"),
            "error: Template at '/a' (\"{{input.a input.b}}\"): unexpected 'i' at position 10: "
            "a placeholder holds one path");
  EXPECT_EQ(Render(R"({"a": "{{}}"})"),
            "error: Template at '/a' (\"{{}}\"): expected a path at position 2");
  EXPECT_EQ(Render(R"({"a": "{{ index.x }}"})"),
            "error: Template at '/a' (\"{{ index.x }}\"): 'index' is a number and has no "
            "members at position 3");
  EXPECT_EQ(Render(R"({"a": "{{steps}}"})"),
            "error: Template at '/a' (\"{{steps}}\"): 'steps' must be followed by a step id at "
            "position 7");
}

TEST(TemplatingTest, MessagesStayValidUtf8) {
  EXPECT_EQ(Render(R"({"a": "{{input.a é}}"})"),
            "error: Template at '/a' (\"{{input.a é}}\"): unexpected byte 0xC3 at position 10: a "
            "placeholder holds one path");
  std::string accents;
  for (int i = 0; i < 50; ++i) accents += "é";
  const std::string text = "x" + accents + "{{";
  // 80 bytes would end inside the 40th accent; the excerpt stops before it.
  EXPECT_EQ(Render(R"({"a": ")" + text + R"("})"),
            "error: Template at '/a' (\"x" + accents.substr(0, 78) +
                "...\"): unterminated '{{' at position 101");
}

TEST(TemplatingTest, LongTextIsCutShortInMessages) {
  const std::string long_text = std::string(100, 'y') + "{{nope}}";
  EXPECT_EQ(Render(R"({"a": ")" + long_text + R"("})"),
            "error: Template at '/a' (\"" + std::string(80, 'y') +
                "...\"): unknown name 'nope' at position 102: paths start with input., steps., "
                "item or index");
}

TEST(TemplatingTest, RenderedStringLongerThanTheLimitIsRefused) {
  json::Document context = ParseOrDie(R"({"input": {}})");
  const std::string big(kMaxRenderedStringBytes / 2 + 1, 'b');
  context["input"].AddMember("big", json::String(big, context.GetAllocator()),
                             context.GetAllocator());
  json::Document twice = ParseOrDie(R"({"a": "{{input.big}}{{input.big}}"})");
  StatusOr<json::Document> refused = RenderTemplates(twice, context);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "Template at '/a' (\"{{input.big}}{{input.big}}\"): renders to more than 1048576 "
            "bytes");
  json::Document once = ParseOrDie(R"({"a": "x{{input.big}}", "b": "{{input.big}}"})");
  StatusOr<json::Document> rendered = RenderTemplates(once, context);
  ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
  EXPECT_EQ((*rendered)["a"].GetStringLength(), big.size() + 1);
}

TEST(TemplatingTest, ResultOutlivesConfigAndContext) {
  StatusOr<json::Document> rendered = [] {
    json::Document context = ParseOrDie(kContext);
    json::Document config = ParseOrDie(R"({"u": "{{input.user}}", "s": "x{{input.name}}",
                                           "k": "kept"})");
    return RenderTemplates(config, context);
  }();
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(json::Serialize(*rendered), Compact(R"({"u": {"id": 7}, "s": "xada", "k": "kept"})"));
}

TEST(TemplatingTest, ConfigIsNotModified) {
  json::Document context = ParseOrDie(kContext);
  json::Document config = ParseOrDie(R"({"a": "{{input.count}}"})");
  ASSERT_TRUE(RenderTemplates(config, context).ok());
  EXPECT_EQ(json::Serialize(config), Compact(R"({"a": "{{input.count}}"})"));
}

TEST(TemplatingTest, StepRefsAreCollectedWithTheirPointers) {
  json::Document config = ParseOrDie(R"({
    "url": "{{steps.a.output.x}}/{{steps.b.status}}/{{steps.a.output.y}}",
    "body": ["{{steps.c.output}}", "{{input.x}} {{item.y}} {{index}}"],
    "again": "{{steps.a}}",
    "{{steps.name}}": "member names are not templates"})");
  std::vector<TemplateStepRef> refs;
  ASSERT_TRUE(CollectTemplateStepRefs(config, &refs).ok());
  std::vector<std::string> found;
  for (const TemplateStepRef& ref : refs) found.push_back(ref.step_id + " at " + ref.pointer);
  EXPECT_THAT(found, ElementsAre("a at /url", "b at /url", "c at /body/0", "a at /again"));
}

TEST(TemplatingTest, StepRefsAreCollectedPastAMalformedString) {
  json::Document config = ParseOrDie(R"({
    "bad": "{{steps.a.output}} {{foo}} {{steps.never_read}}",
    "later": "{{steps.d}}", "unterminated": "{{steps.e"})");
  std::vector<TemplateStepRef> refs;
  Status status = CollectTemplateStepRefs(config, &refs);
  EXPECT_EQ(status.message(),
            "Template at '/bad' (\"{{steps.a.output}} {{foo}} {{steps.never_read}}\"): unknown "
            "name 'foo' at position 21: paths start with input., steps., item or index");
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].step_id, "a");
  EXPECT_EQ(refs[1].step_id, "d");
}

TEST(TemplatingTest, ConfigWithoutPlaceholdersHasNoStepRefs) {
  std::vector<TemplateStepRef> refs;
  EXPECT_TRUE(CollectTemplateStepRefs(ParseOrDie(R"({"a": [1, "x", {"b": null}]})"), &refs).ok());
  EXPECT_THAT(refs, IsEmpty());
}

}  // namespace
}  // namespace ledgerflow::core
