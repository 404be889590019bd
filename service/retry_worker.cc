#include "service/retry_worker.h"

#include <pthread.h>

#include <cstdio>
#include <exception>

namespace ledgerflow::service {

RetryWorker::RetryWorker() : thread_([this] { Run(); }) {
  (void)pthread_setname_np(thread_.native_handle(), "lf-retry");
}

RetryWorker::~RetryWorker() { Stop(); }

bool RetryWorker::Post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void RetryWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void RetryWorker::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every queued job ran
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    // A job that throws must not end the thread: later retries would never run.
    try {
      job();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ledgerflow: a command retry threw: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "ledgerflow: a command retry threw\n");
    }
  }
}

}  // namespace ledgerflow::service
