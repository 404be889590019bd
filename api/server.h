// The HTTP server: Pistache endpoint, request ids, keep-alive, body limits, auth
// and dispatch through the route table. Start() returns once listening.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/responder.h"
#include "api/router.h"
#include "api/stream_workers.h"
#include "core/status.h"
#include "service/ledger.h"

namespace Pistache::Http {
class Endpoint;
}

namespace ledgerflow::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;          // 0: an ephemeral port (see Server::port())
  int threads = 2;
  size_t max_body_bytes = 1 << 20;
  size_t max_request_line_bytes = 8 * 1024;  // 414 beyond
  size_t max_header_bytes = 64 * 1024;       // 431 beyond
  // Open connections at most; 0: derived from the descriptor limit (RLIMIT_NOFILE,
  // raised to its hard limit at start), keeping a reserve for the store and streams.
  size_t max_connections = 0;
  size_t max_streams = 64;  // concurrent SSE feeds and NDJSON exports
  // A request whose headers and body have not all arrived this long after its first
  // byte is answered 408 and closed; an idle keep-alive connection is closed after
  // `keepalive_timeout`. Streams are exempt from both.
  std::chrono::milliseconds request_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds keepalive_timeout = std::chrono::seconds(300);
};

class Server {
 public:
  Server(service::Ledger& ledger, ServerOptions options);
  ~Server();

  Status Start();
  // Stops accepting and joins Pistache's threads. Idempotent.
  void Stop();

  // Begins a graceful stop: new connections are answered 503 and closed, each answer
  // closes its connection, idle keep-alive connections close within a second or two,
  // open feeds end with a final `shutdown` event, and exports already begun go on to
  // their end. Then wait for Unanswered() to reach 0 (or a grace period) and Stop(),
  // which cuts what is still streaming.
  void BeginDrain();
  // Requests received and not answered yet (commands waiting for their commit too).
  int64_t Unanswered() const { return drain_->unanswered.load(); }
  uint16_t port() const { return port_; }
  // The connection cap in force (after Start).
  size_t max_connections() const { return max_connections_; }
  const Router& router() const { return *router_; }

 private:
  service::Ledger& ledger_;
  ServerOptions options_;
  std::unique_ptr<StreamWorkers> streams_;
  std::shared_ptr<Router> router_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  uint16_t port_ = 0;
  std::shared_ptr<DrainState> drain_ = std::make_shared<DrainState>();
  size_t max_connections_ = 0;
};

// Builds the full route table (every endpoint of the API).
std::shared_ptr<Router> BuildRouter(service::Ledger& ledger, StreamWorkers& streams);

}  // namespace ledgerflow::api
