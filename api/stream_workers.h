// Threads for long-lived responses (NDJSON exports, Server-Sent Events), so that
// Pistache's few workers stay free. A drain ends the endless ones (feeds) and lets
// the finite ones (exports) finish; StopAll() ends them all before the endpoint goes
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

// A finite stream is the answer to a request and is let finish while draining; an
// endless one (a feed) is asked to end when the drain begins.
enum class StreamKind { kFinite, kEndless };

class StreamWorkers {
 public:
  // At most `max_streams` at once, and a quarter of them (at least one) per tenant, so
  // that one organisation cannot take every stream from the others.
  explicit StreamWorkers(size_t max_streams)
      : max_streams_(max_streams), max_per_tenant_(std::max<size_t>(1, max_streams / 4)) {}
  ~StreamWorkers() { StopAll(); }

  // Runs `job(stop)` on its own thread for `tenant`; Unavailable ("too_many_streams")
  // when the tenant or the server has all the streams it may have, ("shutting_down")
  // for an endless stream once the drain has begun.
  Status Start(std::string_view tenant, StreamKind kind,
               std::function<void(const std::atomic<bool>& stop)> job);

  // Asks the endless jobs to stop, without waiting for them; later endless Starts are
  // refused.
  void EndEndless();
  // Asks every job to stop and joins them. Later Starts are refused.
  void StopAll();

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
    std::shared_ptr<std::atomic<bool>> stop;
    StreamKind kind;
    std::string tenant;
  };
  void ReapLocked();

  const size_t max_streams_;
  const size_t max_per_tenant_;
  std::mutex mu_;
  std::list<Worker> workers_;
  bool stop_ = false;
  bool endless_ended_ = false;
};

}  // namespace ledgerflow::api
