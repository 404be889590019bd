// ProjectionRunner on a real RocksDB directory: a read-model write that fails must not
// leave its events out of the read models once writes work again.
#include "projections/projection_runner.h"

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/workflow.h"
#include "events/rocks_storage.h"
#include "projections/run_stats_projection.h"
#include "projections/workflow_projection.h"
#include "service/workflow_service.h"
#include "tests/support/kv_dump.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

// The storage's own KvStore, whose next writes can be made to fail (as a full disk
// or an I/O error would) while reads and later writes go through to RocksDB.
class FlakyKvStore : public events::KvStore {
 public:
  explicit FlakyKvStore(events::KvStore& kv) : kv_(kv) {}

  void FailNextWrites(int count) { failures_.store(count); }
  // The next write throws instead (as a projection could: bad_alloc, a bug).
  void ThrowOnNextWrite() { throws_.store(true); }

  StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    return kv_.Get(key);
  }
  Status Write(const events::KvBatch& batch) override {
    if (throws_.exchange(false)) throw std::runtime_error("injected read-model exception");
    if (failures_.load() > 0) {
      failures_.fetch_sub(1);
      return Internal("injected read-model write failure");
    }
    return kv_.Write(batch);
  }
  Status Scan(std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    return kv_.Scan(prefix, start, visit);
  }
  Status Clear() override { return kv_.Clear(); }

 private:
  events::KvStore& kv_;
  std::atomic<int> failures_{0};
  std::atomic<bool> throws_{false};
};

class ProjectionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(std::chrono::hours(1)); }
  // The store first: its writer thread calls the runner, which uses the projections.
  void TearDown() override { Close(); }

  void Close() {
    storage_.reset();
    runner_.reset();
    workflows_.reset();
    kv_.reset();
  }

  // `idle_interval`: long, unless a test waits for the idle catch-up; a short one
  // could heal the read models before a test has seen them behind.
  void Open(std::chrono::milliseconds idle_interval) {
    events::StorageOptions options;
    options.idle_listener_interval = idle_interval;
    auto storage = events::RocksStorage::Open((dir_.path() / "data").string(), options);
    ASSERT_TRUE(storage.ok()) << storage.status().ToString();
    storage_ = std::move(*storage);
    kv_ = std::make_unique<FlakyKvStore>(storage_->projections());
    workflows_ = std::make_unique<projections::WorkflowProjection>(*kv_, storage_->events());
    runner_ = std::make_unique<projections::ProjectionRunner>(storage_->events(), *kv_);
    runner_->Add(workflows_.get());
    ASSERT_TRUE(runner_->Start().ok());
  }

  // Appends a workflow's creation straight to the log (as the service would) and
  // returns the append's status.
  Status AppendCreation(const std::string& id) {
    auto definition =
        json::Parse(R"({"name":")" + id + R"(","steps":[{"id":"a","type":"agent_task"}]})");
    EXPECT_TRUE(definition.ok());
    core::CreateWorkflow command;
    command.id = id;
    command.definition = &*definition;
    auto decided = core::DecideCreate(command, core::ValidationOptions{});
    EXPECT_TRUE(decided.ok()) << decided.status().ToString();
    if (!decided.ok()) return decided.status();
    events::AppendRequest request;
    request.stream = core::WorkflowStream(id);
    request.expected_version = events::kNoStream;
    request.org = "acme";
    request.actor = "key_test";
    for (core::PendingEvent& e : *decided) {
      request.events.push_back({std::move(e.type), 1, std::move(e.data), std::nullopt});
    }
    return storage_->events().Append(std::move(request)).status();
  }

  // Appends an event that the store refuses (a stale expected version): a group that
  // commits nothing.
  void AppendRefused(const std::string& id) {
    events::AppendRequest request;
    request.stream = core::WorkflowStream(id);
    request.expected_version = 7;
    request.org = "acme";
    request.actor = "key_test";
    request.events.push_back({std::string(core::kWorkflowDeleted), 1, "{}", std::nullopt});
    auto result = storage_->events().Append(std::move(request));
    ASSERT_FALSE(result.ok());
    ASSERT_EQ(result.status().code(), StatusCode::kConflict);
  }

  bool Exists(const std::string& id) {
    auto state = workflows_->Get("acme", id);
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    return state.ok() && state->has_value();
  }

  TempDir dir_;
  std::unique_ptr<events::RocksStorage> storage_;
  std::unique_ptr<FlakyKvStore> kv_;
  std::unique_ptr<projections::WorkflowProjection> workflows_;
  std::unique_ptr<projections::ProjectionRunner> runner_;
};

TEST_F(ProjectionRunnerTest, AGroupWhoseReadModelWriteFailedIsAppliedWithTheNextCommit) {
  ASSERT_TRUE(AppendCreation("wf_first").ok());

  kv_->FailNextWrites(1);
  // The event is durable in the log although its read models could not be written.
  ASSERT_TRUE(AppendCreation("wf_missed").ok());
  EXPECT_FALSE(Exists("wf_missed"));
  auto behind = runner_->Checkpoint("workflows");
  ASSERT_TRUE(behind.ok());
  EXPECT_LT(*behind, storage_->events().HeadPosition());

  ASSERT_TRUE(AppendCreation("wf_next").ok());
  EXPECT_TRUE(Exists("wf_first"));
  EXPECT_TRUE(Exists("wf_missed"));
  EXPECT_TRUE(Exists("wf_next"));
  auto checkpoint = runner_->Checkpoint("workflows");
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(*checkpoint, storage_->events().HeadPosition());
  auto list = workflows_->List("acme", projections::WorkflowListQuery{});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->total, 3u);
  EXPECT_EQ(list->workflows.size(), 3u);

  // Exactly what a replay of the whole log builds.
  auto caught_up = DumpKv(*kv_);
  ASSERT_TRUE(runner_->Rebuild().ok());
  EXPECT_EQ(DumpKv(*kv_), caught_up);
}

TEST_F(ProjectionRunnerTest, ReadModelsStayBehindWhileWritesKeepFailingAndCatchUpAfter) {
  kv_->FailNextWrites(3);
  // The failed group, then two commits whose catch-up fails too.
  for (const char* id : {"wf_a", "wf_b", "wf_c"}) ASSERT_TRUE(AppendCreation(id).ok());
  EXPECT_FALSE(Exists("wf_a"));
  EXPECT_FALSE(Exists("wf_c"));

  ASSERT_TRUE(AppendCreation("wf_d").ok());
  for (const char* id : {"wf_a", "wf_b", "wf_c", "wf_d"}) EXPECT_TRUE(Exists(id)) << id;
  auto checkpoint = runner_->Checkpoint("workflows");
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(*checkpoint, storage_->events().HeadPosition());
}

TEST_F(ProjectionRunnerTest, AnIdleStoreCatchesUpWithoutAnotherAppend) {
  Close();
  Open(std::chrono::milliseconds(200));
  kv_->FailNextWrites(1);
  ASSERT_TRUE(AppendCreation("wf_missed").ok());
  // Nothing else is appended: the store's idle call of the listener replays.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!Exists("wf_missed") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(Exists("wf_missed"));
}

TEST_F(ProjectionRunnerTest, AProjectionThatThrowsIsCaughtUpLikeAFailedWrite) {
  kv_->ThrowOnNextWrite();
  ASSERT_TRUE(AppendCreation("wf_thrown").ok());
  EXPECT_FALSE(Exists("wf_thrown"));
  ASSERT_TRUE(AppendCreation("wf_next").ok());
  EXPECT_TRUE(Exists("wf_thrown"));
  EXPECT_TRUE(Exists("wf_next"));
  auto caught_up = DumpKv(*kv_);
  ASSERT_TRUE(runner_->Rebuild().ok());
  EXPECT_EQ(DumpKv(*kv_), caught_up);
}

TEST_F(ProjectionRunnerTest, AGroupThatCommitsNothingAlsoCatchesUp) {
  kv_->FailNextWrites(1);
  ASSERT_TRUE(AppendCreation("wf_missed").ok());
  EXPECT_FALSE(Exists("wf_missed"));
  AppendRefused("wf_missed");
  EXPECT_TRUE(Exists("wf_missed"));
}

// Commands through the service decide on the log's state while the read model is
// behind it, and are answered with the workflow as the log has it.
TEST_F(ProjectionRunnerTest, CommandsDecideOnTheLogWhileTheReadModelIsBehind) {
  projections::RunStatsProjection run_stats(*kv_);  // metadata only; not applied here
  service::WorkflowService service(storage_->events(), *workflows_, run_stats,
                                   core::ValidationOptions{});
  const service::Caller caller{"acme", "key_test", core::Role::kOwner, "req_test"};
  auto await = [](const std::function<void(service::WorkflowReply)>& command) {
    std::promise<StatusOr<projections::WorkflowView>> done;
    command([&](StatusOr<projections::WorkflowView> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  };
  auto definition = [](const std::string& name) {
    auto doc = json::Parse(R"({"name":")" + name + R"(","steps":[{"id":"a","type":"agent_task"}]})");
    EXPECT_TRUE(doc.ok());
    return std::move(*doc);
  };
  service::CreateWorkflowInput input;
  input.definition = definition("v1");
  auto created = await([&](service::WorkflowReply r) { service.Create(caller, std::move(input), r); });
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string id = created->id;

  kv_->FailNextWrites(1);
  auto v2 = await([&](service::WorkflowReply r) {
    service.Update(caller, id, definition("v2"), "", std::nullopt, r);
  });
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->version, 2);
  auto stale = workflows_->Get("acme", id);
  ASSERT_TRUE(stale.ok() && stale->has_value());
  EXPECT_EQ((*stale)->version, 1);  // the read model missed version 2

  // If-Match with the version the client was given, and a change that turns out to
  // be none: both decided on version 2, as the log has it.
  auto same = await([&](service::WorkflowReply r) {
    service.Update(caller, id, definition("v2"), "", 2, r);
  });
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->version, 2);
  EXPECT_NE(same->json.find(R"("name":"v2")"), std::string::npos) << same->json;
  auto v3 = await([&](service::WorkflowReply r) {
    service.Update(caller, id, definition("v3"), "", 2, r);
  });
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(v3->version, 3);
  auto current = workflows_->Get("acme", id);
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_EQ((*current)->version, 3);
  auto versions = workflows_->ListVersions("acme", id, 10, 0);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(versions->total, 3u);
}

}  // namespace
}  // namespace ledgerflow::testing
