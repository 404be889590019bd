// The run statistics read model, fed run events directly: runs move between statuses
// per version, the state does not depend on how events are grouped into batches, and
// what does not change a run's statistics writes nothing.
#include "projections/run_stats_projection.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "events/rocks_storage.h"
#include "tests/support/kv_dump.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

using core::RunStatus;

// A read model over its own RocksDB directory.
struct Model {
  Model() {
    auto opened = events::RocksStorage::Open((dir.path() / "data").string());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    storage = std::move(*opened);
    projection = std::make_unique<projections::RunStatsProjection>(storage->projections());
  }

  // Applies `events` as one batch and writes it; returns how many writes it held.
  size_t Apply(const std::vector<events::Event>& events) {
    events::KvBatch batch;
    Status applied = projection->Apply(events, batch);
    EXPECT_TRUE(applied.ok()) << applied.ToString();
    size_t writes = batch.size();
    if (!batch.empty()) {
      EXPECT_TRUE(storage->projections().Write(batch).ok());
    }
    return writes;
  }

  projections::WorkflowRunStats Get(const std::string& org, const std::string& wf) {
    auto stats = projection->Get(org, wf);
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? *stats : projections::WorkflowRunStats{};
  }

  TempDir dir;
  std::unique_ptr<events::RocksStorage> storage;
  std::unique_ptr<projections::RunStatsProjection> projection;
};

class RunStatsProjectionTest : public ::testing::Test {
 protected:
  events::Event Event(const std::string& run, std::string_view type, int64_t at_ms,
                      std::string data = "{}", const std::string& org = "acme") {
    events::Event e;
    e.position = ++position_;
    e.stream = core::RunStream(run);
    e.stream_version = ++versions_[run];
    e.type = std::string(type);
    e.org = org;
    e.actor = "system";
    e.at_ms = at_ms;
    e.data = std::move(data);
    return e;
  }

  events::Event Dispatched(const std::string& run, const std::string& wf, int version,
                           int64_t at_ms, const std::string& org = "acme") {
    return Event(run, core::kRunDispatched, at_ms,
                 R"({"workflow_id":")" + wf + R"(","workflow_version":)" +
                     std::to_string(version) + R"(,"steps":["a"]})",
                 org);
  }

  // Two versions of wf_1: a completes (500 ms) and b fails on v1, c is pending on v2.
  std::vector<events::Event> History() {
    return {Dispatched("run_a", "wf_1", 1, 1000),
            Event("run_a", core::kRunStarted, 1100),
            Dispatched("run_b", "wf_1", 1, 2000),
            Event("run_a", core::kStepStarted, 1150, R"({"step_id":"a","attempt":1})"),
            Event("run_a", core::kStepCompleted, 1590, R"({"step_id":"a","output":{}})"),
            Event("run_b", core::kRunStarted, 2100),
            Event("run_a", core::kRunCompleted, 1600),
            Event("run_b", core::kRunFailed, 2200, R"({"error":"Step 'a' failed"})"),
            Dispatched("run_c", "wf_1", 2, 3000)};
  }

  events::Position position_ = 0;
  std::map<std::string, events::Version> versions_;
};

TEST_F(RunStatsProjectionTest, RunsMoveBetweenStatusesAndCountForTheirVersion) {
  Model model;
  for (const events::Event& e : History()) model.Apply({e});
  auto stats = model.Get("acme", "wf_1");
  EXPECT_EQ(stats.overall.total(), 3);
  EXPECT_EQ(stats.overall.count(RunStatus::kCompleted), 1);
  EXPECT_EQ(stats.overall.count(RunStatus::kFailed), 1);
  EXPECT_EQ(stats.overall.count(RunStatus::kPending), 1);
  EXPECT_EQ(stats.overall.count(RunStatus::kRunning), 0);
  EXPECT_EQ(stats.overall.last_run_at_ms, 3000);
  EXPECT_DOUBLE_EQ(*stats.overall.success_rate(), 0.5);
  EXPECT_DOUBLE_EQ(*stats.overall.mean_duration_seconds(), 0.5);
  ASSERT_EQ(stats.by_version.size(), 2u);
  EXPECT_EQ(stats.by_version[0].version, 2);
  EXPECT_EQ(stats.by_version[0].stats.total(), 1);
  EXPECT_EQ(stats.by_version[0].stats.success_rate(), std::nullopt);
  EXPECT_EQ(stats.by_version[1].version, 1);
  EXPECT_EQ(stats.by_version[1].stats.total(), 2);
  EXPECT_EQ(stats.by_version[1].stats.last_run_at_ms, 2000);
  EXPECT_NEAR(*stats.by_version[1].stats.p95_duration_seconds(), 0.5, 0.5 * 0.025);
}

TEST_F(RunStatsProjectionTest, OneBatchAndOneEventPerBatchStoreTheSameState) {
  Model one_by_one, together;
  std::vector<events::Event> history = History();
  for (const events::Event& e : history) one_by_one.Apply({e});
  together.Apply(history);
  auto stored = DumpKv(together.storage->projections());
  EXPECT_EQ(DumpKv(one_by_one.storage->projections()), stored);
  // Two versions' statistics and three runs' entries.
  EXPECT_EQ(stored.size(), 5u);
}

TEST_F(RunStatsProjectionTest, StepEventsOfARunningRunWriteNothing) {
  Model model;
  model.Apply({Dispatched("run_a", "wf_1", 1, 1000), Event("run_a", core::kRunStarted, 1100)});
  EXPECT_EQ(model.Apply({Event("run_a", core::kStepStarted, 1150, R"({"step_id":"a"})")}), 0u);
  // The end of the run rewrites its entry, and its version's statistics.
  EXPECT_EQ(model.Apply({Event("run_a", core::kRunCompleted, 1200)}), 2u);
}

TEST_F(RunStatsProjectionTest, RunsWithoutADispatchAndOtherOrgsRunsAreNotCounted) {
  Model model;
  model.Apply({Event("run_lost", core::kRunStarted, 1000),
               Event("run_lost", core::kRunCompleted, 2000),
               Dispatched("run_g", "wf_1", 1, 1000, "globex")});
  auto acme = model.Get("acme", "wf_1");
  EXPECT_EQ(acme.overall.total(), 0);
  EXPECT_EQ(acme.overall.last_run_at_ms, 0);
  EXPECT_TRUE(acme.by_version.empty());
  EXPECT_EQ(model.Get("globex", "wf_1").overall.total(), 1);
}

}  // namespace
}  // namespace ledgerflow::testing
