#include "service/retry_worker.h"

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace ledgerflow::service {
namespace {

TEST(RetryWorkerTest, RunsJobsInOrderOnItsOwnThread) {
  RetryWorker worker;
  std::vector<int> order;
  std::promise<std::thread::id> ran_on;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(worker.Post([&order, i] { order.push_back(i); }));
  }
  ASSERT_TRUE(worker.Post([&] { ran_on.set_value(std::this_thread::get_id()); }));
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
  worker.Stop();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(RetryWorkerTest, StopRunsWhatIsQueuedThenRefusesMore) {
  RetryWorker worker;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  ASSERT_TRUE(worker.Post([released, &ran] {
    released.wait();
    ++ran;
  }));
  ASSERT_TRUE(worker.Post([&ran] { ++ran; }));
  std::thread stopper([&] { worker.Stop(); });
  release.set_value();
  stopper.join();
  EXPECT_EQ(ran.load(), 2);
  EXPECT_FALSE(worker.Post([&ran] { ++ran; }));
  worker.Stop();  // again: nothing happens
  EXPECT_EQ(ran.load(), 2);
}

TEST(RetryWorkerTest, AJobThatThrowsDoesNotStopTheOthers) {
  RetryWorker worker;
  std::promise<void> after;
  ASSERT_TRUE(worker.Post([] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(worker.Post([&] { after.set_value(); }));
  EXPECT_EQ(after.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

}  // namespace
}  // namespace ledgerflow::service
