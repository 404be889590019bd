// The workflow service appends core's event data with `written_by_writer`, so the store
// does not re-canonicalize it. That is only sound if every decision writes exactly
// what CanonicalizeJson would: checked here over definitions with awkward numbers,
// escapes and non-ASCII text, for each kind of decision.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/json.h"
#include "core/workflow.h"
#include "events/codec.h"

namespace ledgerflow {
namespace {

std::string Definition(const std::string& url) {
  return R"({"name":"caf\u00e9 \ud83d\ude00 \"quoted\" \\ \t","steps":[)"
         R"({"id":"a","type":"http_request","config":{"url":")" +
         url +
         R"(","method":"GET","timeout_seconds":1.5e1,"retries":0,"weight":0.1,)"
         R"("big":12345678901234567890,"neg":-0.0,"tiny":5e-324,"max":1.7976931348623157e308,)"
         R"("ctl":"\u0001\u001f\u007f","slash":"a\/b"}},)"
         R"({"id":"b","type":"http_request","depends_on":["a"],"config":{"url":"https://example.com/\u00fc"}}]})";
}

void ExpectCanonical(const StatusOr<std::vector<core::PendingEvent>>& decided,
                     const char* what) {
  ASSERT_TRUE(decided.ok()) << what << ": " << decided.status().ToString();
  ASSERT_FALSE(decided->empty()) << what;
  for (const core::PendingEvent& e : *decided) {
    auto canonical = events::CanonicalizeJson(e.data);
    ASSERT_TRUE(canonical.ok()) << what << " " << e.type << ": " << e.data;
    EXPECT_EQ(*canonical, e.data) << what << " " << e.type;
    EXPECT_TRUE(events::CheckWriterJson(e.data).ok()) << what << " " << e.type;
  }
}

void Fold(const std::vector<core::PendingEvent>& events, core::WorkflowState& state,
          uint64_t* version) {
  for (const core::PendingEvent& e : events) {
    auto data = json::Parse(e.data);
    EXPECT_TRUE(data.ok());
    ++*version;
    core::EvolveWorkflow(state, e.type, *data,
                         core::EventMeta{*version, *version, 1'795'000'000'000, "key_1"});
  }
}

TEST(EventDataTest, EveryDecisionWritesCanonicalJson) {
  auto first = json::Parse(Definition("https://example.com/a?x=1&y=%20"));
  auto second = json::Parse(Definition("https://example.com/b"));
  ASSERT_TRUE(first.ok() && second.ok());

  core::CreateWorkflow create;
  create.id = "wf_1";
  create.definition = &*first;
  create.description = "d\u00e9j\u00e0 \"vu\"\n";
  create.tags = {"\u00fcber", "a\\b"};
  auto created = core::DecideCreate(create, {});
  ExpectCanonical(created, "create");
  uint64_t version = 0;
  core::WorkflowState state;
  Fold(*created, state, &version);

  auto updated = core::DecideUpdate(state, {&*second, "second \u2192 version", std::nullopt}, {});
  ExpectCanonical(updated, "update");
  Fold(*updated, state, &version);

  auto patch = json::Parse(R"({"description":"\u00e9t\u00e9","tags":["x\u0001"],)"
                           R"("definition":{"name":"patched \ud83d\ude00"}})");
  ASSERT_TRUE(patch.ok());
  auto patched = core::DecidePatch(state, *patch, std::nullopt, {});
  ExpectCanonical(patched, "patch");
  Fold(*patched, state, &version);

  core::VersionRecord target;
  target.version = 1;
  target.definition = json::Serialize(*first);
  auto rolled_back = core::DecideRollback(state, target, "back to \u00e9", std::nullopt, {});
  ExpectCanonical(rolled_back, "rollback");
  Fold(*rolled_back, state, &version);

  ExpectCanonical(core::DecideStatus(state, "paused"), "status");
  ExpectCanonical(core::DecideDelete(state), "delete");
}

}  // namespace
}  // namespace ledgerflow
