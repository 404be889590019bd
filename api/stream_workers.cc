#include "api/stream_workers.h"

#include "api/http_metrics.h"

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

Status StreamWorkers::Start(std::string_view tenant, StreamKind kind,
                            std::function<void(const std::atomic<bool>& stop)> job) {
  auto refuse = [](std::string message) {
    return Status(StatusCode::kUnavailable, std::move(message)).WithReason("too_many_streams");
  };
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return refuse("The server is stopping");
  if (kind == StreamKind::kEndless && endless_ended_) {
    return Status(StatusCode::kUnavailable, "The server is shutting down; retry")
        .WithReason("shutting_down");
  }
  ReapLocked();
  const auto of_tenant = std::count_if(workers_.begin(), workers_.end(),
                                       [&](const Worker& w) { return w.tenant == tenant; });
  if (static_cast<size_t>(of_tenant) >= max_per_tenant_) {
    return refuse("This organisation already has " + std::to_string(of_tenant) +
                  " open streams (the most it may have); close one or retry later");
  }
  if (workers_.size() >= max_streams_) return refuse("Too many open streams; retry later");
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto stop = std::make_shared<std::atomic<bool>>(false);
  Http().open_streams.Add(1);
  workers_.push_back({std::thread([job = std::move(job), done, stop] {
                        job(*stop);
                        Http().open_streams.Add(-1);
                        done->store(true);
                      }),
                      done, stop, kind, std::string(tenant)});
  return Status::Ok();
}

void StreamWorkers::EndEndless() {
  std::lock_guard<std::mutex> lock(mu_);
  endless_ended_ = true;
  for (auto& w : workers_) {
    if (w.kind == StreamKind::kEndless) w.stop->store(true);
  }
}

void StreamWorkers::StopAll() {
  std::list<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    for (auto& w : workers_) w.stop->store(true);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.thread.join();
}

}  // namespace ledgerflow::api
