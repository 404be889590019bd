// Threads for long-lived responses (NDJSON exports, Server-Sent Events), so that
// Pistache's few workers stay free. StopAll() ends them before the endpoint goes
// away. Thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/status.h"

namespace ledgerflow::api {

class StreamWorkers {
 public:
  // At most `max_streams` at once, and a quarter of them (at least one) per tenant, so
  // that one organisation cannot take every stream from the others.
  explicit StreamWorkers(size_t max_streams)
      : max_streams_(max_streams), max_per_tenant_(std::max<size_t>(1, max_streams / 4)) {}
  ~StreamWorkers() { StopAll(); }

  // Runs `job(stop)` on its own thread for `tenant`; Unavailable ("too_many_streams")
  // when the tenant or the server has all the streams it may have.
  Status Start(std::string_view tenant, std::function<void(const std::atomic<bool>& stop)> job);

  // Asks every job to stop and joins them. Later Starts are refused.
  void StopAll();

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
    std::string tenant;
  };
  void ReapLocked();

  const size_t max_streams_;
  const size_t max_per_tenant_;
  std::mutex mu_;
  std::list<Worker> workers_;
  std::atomic<bool> stop_{false};
};

}  // namespace ledgerflow::api
