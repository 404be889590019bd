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
  EXPECT_TRUE(workers.Start("acme", blocked).ok());
  EXPECT_TRUE(workers.Start("acme", blocked).ok());
  Status third = workers.Start("acme", blocked);
  EXPECT_EQ(third.code(), StatusCode::kUnavailable);
  EXPECT_EQ(third.reason(), "too_many_streams");
  EXPECT_TRUE(workers.Start("globex", blocked).ok());
  release.set_value();
  // Finished jobs free their places.
  bool started_again = false;
  for (int i = 0; i < 500 && !started_again; ++i) {
    started_again = workers.Start("acme", [](const std::atomic<bool>&) {}).ok();
    if (!started_again) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(started_again);
  workers.StopAll();
  EXPECT_FALSE(workers.Start("acme", [](const std::atomic<bool>&) {}).ok());
}

TEST(StreamWorkersTest, TheServerWideLimitHoldsAcrossTenants) {
  StreamWorkers workers(4);  // 1 per tenant, 4 in all
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto blocked = [released](const std::atomic<bool>&) { released.wait(); };
  for (const char* tenant : {"a", "b", "c", "d"}) EXPECT_TRUE(workers.Start(tenant, blocked).ok());
  EXPECT_FALSE(workers.Start("e", blocked).ok());
  release.set_value();
  workers.StopAll();
}

}  // namespace
}  // namespace ledgerflow::api
