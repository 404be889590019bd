#include "api/stream_workers.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace ledgerflow::api {
namespace {

TEST(StreamWorkersTest, NoTenantTakesMoreThanAQuarterOfTheStreams) {
  StreamWorkers workers(8);  // 2 per tenant
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto blocked = [released](const std::atomic<bool>&) { released.wait(); };
  EXPECT_TRUE(workers.Start("acme", StreamKind::kFinite, blocked).ok());
  EXPECT_TRUE(workers.Start("acme", StreamKind::kFinite, blocked).ok());
  Status third = workers.Start("acme", StreamKind::kFinite, blocked);
  EXPECT_EQ(third.code(), StatusCode::kUnavailable);
  EXPECT_EQ(third.reason(), "too_many_streams");
  EXPECT_TRUE(workers.Start("globex", StreamKind::kFinite, blocked).ok());
  release.set_value();
  // Finished jobs free their places.
  bool started_again = false;
  for (int i = 0; i < 500 && !started_again; ++i) {
    started_again = workers.Start("acme", StreamKind::kFinite, [](const std::atomic<bool>&) {}).ok();
    if (!started_again) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(started_again);
  workers.StopAll();
  EXPECT_FALSE(workers.Start("acme", StreamKind::kFinite, [](const std::atomic<bool>&) {}).ok());
}

TEST(StreamWorkersTest, TheServerWideLimitHoldsAcrossTenants) {
  StreamWorkers workers(4);  // 1 per tenant, 4 in all
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto blocked = [released](const std::atomic<bool>&) { released.wait(); };
  for (const char* tenant : {"a", "b", "c", "d"}) EXPECT_TRUE(workers.Start(tenant, StreamKind::kFinite, blocked).ok());
  EXPECT_FALSE(workers.Start("e", StreamKind::kFinite, blocked).ok());
  release.set_value();
  workers.StopAll();
}

TEST(StreamWorkersTest, EndingTheEndlessOnesLetsTheFiniteOnesFinish) {
  StreamWorkers workers(8);
  std::atomic<bool> feed_stopped{false}, export_stopped{false}, export_done{false};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(workers
                  .Start("acme", StreamKind::kEndless,
                         [&](const std::atomic<bool>& stop) {
                           while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                           feed_stopped = true;
                         })
                  .ok());
  ASSERT_TRUE(workers
                  .Start("acme", StreamKind::kFinite,
                         [&, released](const std::atomic<bool>& stop) {
                           released.wait();
                           export_stopped = stop.load();
                           export_done = true;
                         })
                  .ok());
  workers.EndEndless();
  for (int i = 0; i < 500 && !feed_stopped; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(feed_stopped.load());
  // No new feed once the drain has begun; an export still starts.
  Status feed = workers.Start("globex", StreamKind::kEndless, [](const std::atomic<bool>&) {});
  EXPECT_EQ(feed.reason(), "shutting_down");
  EXPECT_TRUE(workers.Start("globex", StreamKind::kFinite, [](const std::atomic<bool>&) {}).ok());
  release.set_value();
  for (int i = 0; i < 500 && !export_done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(export_done.load());
  EXPECT_FALSE(export_stopped.load()) << "the export was asked to stop by the drain";
  workers.StopAll();
}

}  // namespace
}  // namespace ledgerflow::api
