// One thread for commands that decide again after a concurrent change of their
// workflow. The append callback that learns of the conflict runs on the event store's
// single writer thread; deciding there again (validation, a diff of the definition)
// would hold up every other commit while writers of one workflow contend.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ledgerflow::service {

class RetryWorker {
 public:
  RetryWorker();
  ~RetryWorker();
  RetryWorker(const RetryWorker&) = delete;
  RetryWorker& operator=(const RetryWorker&) = delete;

  // Queues `job`; false once Stop() has begun (the job is not run).
  bool Post(std::function<void()> job);

  // Refuses new jobs, runs the queued ones, joins. Idempotent.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ledgerflow::service
