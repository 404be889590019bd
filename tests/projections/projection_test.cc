// Read models: a rebuild from position 0 equals the incrementally built state, and a
// projection that fell behind the log catches up from its checkpoint.
#include <future>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/run.h"
#include "core/workflow.h"
#include "events/rocks_storage.h"
#include "service/ledger.h"
#include "tests/support/kv_dump.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

json::Document Json(const std::string& text) {
  auto doc = json::Parse(text);
  EXPECT_TRUE(doc.ok());
  return std::move(*doc);
}

std::string Def(const std::string& name) {
  return R"({"name":")" + name + R"(","steps":[{"id":"a","type":"agent_task"}]})";
}

// Runs a command and waits for its answer.
StatusOr<projections::WorkflowView> Await(
    const std::function<void(service::WorkflowReply)>& command) {
  std::promise<StatusOr<projections::WorkflowView>> done;
  command([&](StatusOr<projections::WorkflowView> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

class ProjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.data_dir = (dir_.path() / "data").string();
    auto ledger = service::Ledger::Open(options_);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger_ = std::move(*ledger);
  }

  std::string Create(const std::string& name, const std::string& org = "acme") {
    service::CreateWorkflowInput input;
    input.definition = Json(Def(name));
    input.tags = {"t"};
    auto r = Await([&](service::WorkflowReply reply) {
      ledger_->workflows().Create(Caller(org), std::move(input), reply);
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : "";
  }

  static service::Caller Caller(const std::string& org = "acme") {
    return {org, "key_test", core::Role::kOwner, "req_test"};
  }

  TempDir dir_;
  service::LedgerOptions options_;
  std::unique_ptr<service::Ledger> ledger_;
};

TEST_F(ProjectionTest, RebuildFromPositionZeroEqualsIncrementalState) {
  std::string a = Create("a");
  std::string b = Create("b", "globex");
  std::string c = Create("c");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Await([&](service::WorkflowReply reply) {
                  ledger_->workflows().Update(Caller(), a, Json(Def("a" + std::to_string(i))),
                                              "edit", std::nullopt, reply);
                }).ok());
  }
  ASSERT_TRUE(Await([&](service::WorkflowReply reply) {
                ledger_->workflows().Patch(Caller("globex"), b,
                                           Json(R"({"tags":["x","y"],"name":"bee"})"),
                                           std::nullopt, reply);
              }).ok());
  ASSERT_TRUE(Await([&](service::WorkflowReply reply) {
                ledger_->workflows().SetStatus(Caller(), c, "paused", std::nullopt, reply);
              }).ok());
  ASSERT_TRUE(Await([&](service::WorkflowReply reply) {
                ledger_->workflows().Rollback(Caller(), a, 1, "", std::nullopt, reply);
              }).ok());
  ASSERT_TRUE(Await([&](service::WorkflowReply reply) {
                ledger_->workflows().Delete(Caller(), c, std::nullopt, reply);
              }).ok());

  auto incremental = DumpKv(ledger_->read_models());
  ASSERT_GT(incremental.size(), 10u);
  ASSERT_TRUE(ledger_->runner().Rebuild().ok());
  auto rebuilt = DumpKv(ledger_->read_models());
  EXPECT_EQ(rebuilt, incremental);
}

// Runs as the engine records them, one append per transition: the run statistics
// rebuilt from the log equal what was folded append by append.
TEST_F(ProjectionTest, RebuildWithRunsEqualsIncrementalState) {
  std::string wf = Create("a");
  ASSERT_TRUE(Await([&](service::WorkflowReply reply) {
                ledger_->workflows().Update(Caller(), wf, Json(Def("a2")), "edit", std::nullopt,
                                            reply);
              }).ok());
  auto append = [&](const std::string& run, events::Version expected, std::string_view type,
                    std::string data) {
    events::AppendRequest req;
    req.stream = core::RunStream(run);
    req.expected_version = expected;
    req.org = "acme";
    req.actor = "system";
    req.events.push_back({std::string(type), 1, std::move(data), std::nullopt});
    auto appended = ledger_->store().Append(std::move(req));
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  };
  auto dispatch = [&](const std::string& run, int64_t version) {
    core::RunDispatch d;
    d.workflow_id = wf;
    d.workflow_version = version;
    d.steps = {"a"};
    append(run, events::kNoStream, core::kRunDispatched, core::DispatchedEvent(d).data);
  };
  dispatch("run_1", 1);
  dispatch("run_2", 2);
  append("run_1", 1, core::kRunStarted, "{}");
  append("run_2", 1, core::kRunStarted, "{}");
  append("run_1", 2, core::kRunCompleted, "{}");
  append("run_2", 2, core::kRunFailed, R"({"error":"Step 'a' failed"})");
  dispatch("run_3", 2);

  // The run statistics' keys of the stored read models.
  auto run_stats_keys = [&] {
    auto all = DumpKv(ledger_->read_models());
    std::map<std::string, std::string> out;
    for (const std::string& prefix : ledger_->run_stats().KeyPrefixes()) {
      for (auto it = all.lower_bound(prefix); it != all.end() && it->first.starts_with(prefix);
           ++it) {
        out.insert(*it);
      }
    }
    return out;
  };
  auto incremental = run_stats_keys();
  EXPECT_EQ(incremental.size(), 2u + 3u);  // two versions' statistics, three runs
  auto stats = ledger_->run_stats().Get("acme", wf);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->overall.total(), 3);
  EXPECT_EQ(stats->by_version.size(), 2u);
  ASSERT_TRUE(ledger_->runner().Rebuild().ok());
  EXPECT_EQ(run_stats_keys(), incremental);
}

TEST_F(ProjectionTest, CheckpointFollowsTheLogHead) {
  Create("a");
  Create("b");
  auto checkpoint = ledger_->runner().Checkpoint("workflows");
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(*checkpoint, ledger_->store().HeadPosition());
}

TEST_F(ProjectionTest, ProjectionsBehindTheLogCatchUpOnOpen) {
  std::string a = Create("a");
  ledger_.reset();
  // Append directly to the log, with no projections attached (as if the process
  // died after the sync and before the read models were written).
  {
    auto storage = events::RocksStorage::Open(options_.data_dir);
    ASSERT_TRUE(storage.ok());
    events::AppendRequest req;
    req.stream = core::WorkflowStream(a);
    req.expected_version = 1;
    req.org = "acme";
    req.actor = "key_test";
    req.events.push_back({std::string(core::kWorkflowVersionCreated), 1,
                          R"({"version":2,"definition":)" + Def("offline") +
                              R"(,"change_summary":"offline"})",
                          std::nullopt});
    ASSERT_TRUE((*storage)->events().Append(std::move(req)).ok());
  }
  auto ledger = service::Ledger::Open(options_);
  ASSERT_TRUE(ledger.ok());
  ledger_ = std::move(*ledger);
  auto state = ledger_->workflows().Get(Caller(), a);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->version, 2);
  auto version = ledger_->workflows().Version(Caller(), a, 2);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->change_summary, "offline");
}

TEST_F(ProjectionTest, AnOutdatedLayoutIsDroppedAndReplayedOnOpen) {
  std::string a = Create("a");
  // As if an older build had written this projection with another layout.
  events::KvBatch old;
  old.Put("projection_version/workflows", "1");
  old.Put("wfn/acme", "garbage");
  old.Put("wf/acme/wf_stale", "not a record");
  ASSERT_TRUE(ledger_->read_models().Write(old).ok());
  ledger_.reset();

  auto ledger = service::Ledger::Open(options_);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  ledger_ = std::move(*ledger);
  auto dump = DumpKv(ledger_->read_models());
  EXPECT_EQ(dump.count("wf/acme/wf_stale"), 0u);
  EXPECT_EQ(dump.at("projection_version/workflows"),
            std::to_string(projections::WorkflowProjection(ledger_->read_models(), ledger_->store()).version()));
  auto list = ledger_->workflows().List(Caller(), {});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->total, 1u);
  EXPECT_EQ(list->workflows[0].id, a);
  EXPECT_TRUE(ledger_->workflows().GetView(Caller(), a).ok());
}

TEST_F(ProjectionTest, ListsAreScopedToTheOrg) {
  Create("a");
  Create("b");
  Create("z", "globex");
  auto acme = ledger_->workflows().List(Caller("acme"), {});
  auto globex = ledger_->workflows().List(Caller("globex"), {});
  ASSERT_TRUE(acme.ok());
  ASSERT_TRUE(globex.ok());
  EXPECT_EQ(acme->total, 2u);
  EXPECT_EQ(globex->total, 1u);
  EXPECT_EQ(globex->workflows[0].name, "z");
}

// Filtered lists skip entries whose stored text cannot match before decoding them;
// values that JSON escapes, ASCII case and text in other fields must not fool that.
TEST_F(ProjectionTest, FilteredListsFindValuesThatJsonEscapes) {
  auto create = [&](const std::string& name, const std::string& description,
                    std::vector<std::string> tags) {
    service::CreateWorkflowInput input;
    input.definition = Json(Def("d"));
    input.name = name;
    input.description = description;
    input.tags = std::move(tags);
    auto r = Await([&](service::WorkflowReply reply) {
      ledger_->workflows().Create(Caller(), std::move(input), reply);
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : "";
  };
  std::string quoted = create("Nightly \"ETL\" Job", "first line\nSecond Line", {"say \"hi\""});
  std::string plain = create("plain", "nothing here", {"odd", "été"});
  std::string back = create("back\\slash", "", {"a\\b"});
  ASSERT_TRUE(Await([&](service::WorkflowReply reply) {
                ledger_->workflows().SetStatus(Caller(), plain, "paused", std::nullopt, reply);
              }).ok());

  auto ids = [&](projections::WorkflowListQuery q) {
    auto list = ledger_->workflows().List(Caller(), q);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::set<std::string> out;
    if (!list.ok()) return out;
    for (const auto& w : list->workflows) out.insert(w.id);
    EXPECT_EQ(list->total, out.size());
    return out;
  };
  using Ids = std::set<std::string>;
  projections::WorkflowListQuery q;
  q.tag = "say \"hi\"";
  EXPECT_EQ(ids(q), Ids{quoted});
  q = {};
  q.tag = "a\\b";
  EXPECT_EQ(ids(q), Ids{back});
  q = {};
  q.tag = "été";
  EXPECT_EQ(ids(q), Ids{plain});
  for (const char* text : {"etl", "ETL", "\"etl\"", "ly \"e", "second line", "SLASH", "k\\s"}) {
    q = {};
    q.q = text;
    EXPECT_EQ(ids(q), (std::string(text) == "SLASH" || std::string(text) == "k\\s" ? Ids{back}
                                                                                    : Ids{quoted}))
        << text;
  }
  q = {};
  q.status = "paused";
  EXPECT_EQ(ids(q), Ids{plain});
  q.tag = "odd";
  EXPECT_EQ(ids(q), Ids{plain});
  q.tag = "say \"hi\"";
  EXPECT_EQ(ids(q), Ids{});
  q = {};
  q.q = "odd";  // only a tag holds it: q looks at name and description
  EXPECT_EQ(ids(q), Ids{});
}

}  // namespace
}  // namespace ledgerflow::testing
