#include "api/stream_workers.h"

namespace ledgerflow::api {

void StreamWorkers::ReapLocked() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

bool StreamWorkers::Start(std::function<void(const std::atomic<bool>& stop)> job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return false;
  ReapLocked();
  if (workers_.size() >= max_streams_) return false;
  auto done = std::make_shared<std::atomic<bool>>(false);
  workers_.push_back({std::thread([this, job = std::move(job), done] {
                        job(stop_);
                        done->store(true);
                      }),
                      done});
  return true;
}

void StreamWorkers::StopAll() {
  std::list<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    workers.swap(workers_);
  }
  for (auto& w : workers) w.thread.join();
}

}  // namespace ledgerflow::api
