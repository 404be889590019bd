// Threads for long-lived responses (NDJSON exports, Server-Sent Events), so that
// Pistache's few workers stay free. StopAll() ends them before the endpoint goes
// away. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace ledgerflow::api {

class StreamWorkers {
 public:
  explicit StreamWorkers(size_t max_streams) : max_streams_(max_streams) {}
  ~StreamWorkers() { StopAll(); }

  // Runs `job(stop)` on its own thread; false when max_streams are already running.
  bool Start(std::function<void(const std::atomic<bool>& stop)> job);

  // Asks every job to stop and joins them. Later Starts are refused.
  void StopAll();

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void ReapLocked();

  const size_t max_streams_;
  std::mutex mu_;
  std::list<Worker> workers_;
  std::atomic<bool> stop_{false};
};

}  // namespace ledgerflow::api
