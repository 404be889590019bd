// A local HTTP service for engine tests: listens on 127.0.0.1 at an ephemeral port,
// records every request and answers as its handler says (status, body, delay). One
// thread per connection (test code); Connection: close after each answer. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ledgerflow::testing {

struct TargetRequest {
  std::string method;
  std::string path;  // with the query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct TargetAnswer {
  int status = 200;
  std::string body = R"({"ok":true})";
  std::string content_type = "application/json";
  int delay_ms = 0;
};

class HttpTarget {
 public:
  using Handler = std::function<TargetAnswer(const TargetRequest&)>;

  explicit HttpTarget(Handler handler = nullptr);
  ~HttpTarget();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  void set_handler(Handler handler);

  std::vector<TargetRequest> requests() const;
  // Requests whose path starts with `prefix`.
  size_t Count(const std::string& prefix) const;
  // The most requests of paths starting with `prefix` that were being answered at once.
  int MaxConcurrent(const std::string& prefix) const;
  // Waits until Count(prefix) >= n or `timeout_ms` passes; returns Count(prefix).
  size_t WaitFor(const std::string& prefix, size_t n, int timeout_ms = 10000) const;

 private:
  void Accept();
  void Serve(int fd);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  Handler handler_;
  std::vector<TargetRequest> requests_;
  std::map<std::string, int> active_, max_active_;  // by path
  std::vector<std::thread> workers_;
};

}  // namespace ledgerflow::testing
