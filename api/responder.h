// Answers one HTTP request, from any thread, exactly once: JSON bodies, the error
// envelope and its headers. The response is formatted here, whole, and handed to the
// connection as one buffer. Shared so that asynchronous command callbacks can hold it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pistache/http_defs.h>

#include "api/connection.h"

#include "core/json.h"
#include "core/status.h"

namespace ledgerflow::api {

// The HTTP status of a Status code (DESIGN.md's table).
Pistache::Http::Code HttpCodeOf(const Status& status);

// {"error": {"code", "message", "details", "request_id"}}
std::string ErrorEnvelope(const Status& status, std::string_view request_id);

// A server's shutdown: once `draining`, new connections are refused, answers close
// their connection, and `unanswered` counts the requests still to be answered.
struct DrainState {
  std::atomic<bool> draining{false};
  std::atomic<int64_t> unanswered{0};
};

// What the access log says of a request, filled in as dispatch learns it (before the
// handler runs; the answer is written after).
struct AccessInfo {
  std::string method;
  std::string path;
  std::string route;  // the route's pattern; empty when none matched
  size_t bytes_in = 0;  // of the body
  std::string key_id;
  std::string org;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

class Responder {
 public:
  // `keep_alive`: whether the answer says Connection: Keep-Alive (else Close).
  Responder(std::shared_ptr<Connection> connection, std::string request_id,
            Pistache::Http::Version version, bool keep_alive)
      : connection_(std::move(connection)),
        request_id_(std::move(request_id)),
        version_(version),
        keep_alive_(keep_alive) {}

  // A responder dropped without an answer (a handler's bug) answers 500, so that
  // the connection is not left waiting.
  ~Responder();

  const std::string& request_id() const { return request_id_; }
  AccessInfo& access() { return access_; }
  // Counts this request in `drain` until it is answered. Call once, before any Send*.
  void Track(std::shared_ptr<DrainState> drain) {
    drain_ = std::move(drain);
    drain_->unanswered.fetch_add(1, std::memory_order_acq_rel);
  }

  // Answers a HEAD request: every header of the GET answer (Content-Length included),
  // no body. Call before any Send*.
  void set_head_only() { head_only_ = true; }
  bool head_only() const { return head_only_; }

  // Adds a header to the eventual response. Not thread-safe with Send*.
  void AddHeader(std::string name, std::string value) {
    extra_headers_.emplace_back(std::move(name), std::move(value));
  }

  void SendJson(Pistache::Http::Code code, const json::Value& body);
  void SendJsonText(Pistache::Http::Code code, const std::string& body);
  void SendText(Pistache::Http::Code code, const std::string& body, const std::string& mime);
  // 304 Not Modified: the headers added so far (the ETag), no body.
  void SendNotModified();
  // The error envelope with the status's HTTP code, or `code` when given (405).
  void SendError(const Status& status, std::optional<Pistache::Http::Code> code = {});

  // The drain this request is counted in (null when untracked).
  const std::shared_ptr<DrainState>& drain() const { return drain_; }

  // Takes the connection over for a raw stream (see RawStream): returns a dup of the
  // client's socket, or -1 when this request was already answered or the client is
  // gone. Nothing more is read or written on the connection.
  int DetachSocket();

 private:
  bool Claim() {
    if (sent_.exchange(true)) return false;
    if (drain_) drain_->unanswered.fetch_sub(1, std::memory_order_acq_rel);
    return true;
  }
  // One access-log line for the answer (status, bytes written, time since start).
  void LogAccess(int status, size_t bytes_out, bool stream) const;
  void Finish(Pistache::Http::Code code, std::string_view body, std::string_view content_type);

  std::shared_ptr<Connection> connection_;
  std::string request_id_;
  AccessInfo access_;
  std::shared_ptr<DrainState> drain_;
  Pistache::Http::Version version_;
  bool keep_alive_;
  bool head_only_ = false;
  std::vector<std::pair<std::string, std::string>> extra_headers_;
  std::atomic<bool> sent_{false};
};

using ResponderPtr = std::shared_ptr<Responder>;

}  // namespace ledgerflow::api
