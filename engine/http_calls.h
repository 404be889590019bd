// Outbound HTTP requests of HTTP steps, all on one thread through libcurl's multi
// interface: hundreds in flight cost sockets, not threads. Start, Cancel and Poll
// belong to the engine's loop thread; Wakeup may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ledgerflow::engine {

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ms = 30000;
};

struct HttpOutcome {
  std::string transport_error;  // empty when an answer came
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool truncated = false;  // the body was longer than kMaxBodyBytes and was cut there
};

class HttpCalls {
 public:
  static constexpr size_t kMaxBodyBytes = size_t{1} << 20;

  HttpCalls();
  ~HttpCalls();
  HttpCalls(const HttpCalls&) = delete;
  HttpCalls& operator=(const HttpCalls&) = delete;

  // Starts `call`; `done` runs on the loop thread from a later Poll. Returns its id.
  uint64_t Start(const HttpCall& call, std::function<void(HttpOutcome)> done);
  // Aborts a call in flight; its `done` never runs.
  void Cancel(uint64_t id);
  // Waits up to `timeout_ms` for socket activity, a Wakeup or input on one of
  // `read_fds` (the engine's other fds: script pipes), then moves transfers on and runs
  // `done` of those that finished.
  void Poll(int timeout_ms, const std::vector<int>& read_fds = {});
  // Makes a waiting Poll return. Thread-safe.
  void Wakeup();
  size_t in_flight() const { return transfers_.size(); }

  struct Transfer;  // one call in flight (internal; public for libcurl's callbacks)

 private:
  void* multi_ = nullptr;  // CURLM*
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Transfer>> transfers_;
};

}  // namespace ledgerflow::engine
