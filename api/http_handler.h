// The Pistache handler: Pistache's reactor reads the sockets, and each connection's
// bytes go to our own request framing (api/connection.h), never to Pistache 0.0.5's
// request parser; whole requests are authenticated and dispatched through the route
// table. One clone per reactor thread (Pistache's prototype pattern).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <pistache/http.h>

#include "api/connection.h"
#include "api/router.h"
#include "service/key_service.h"

namespace ledgerflow::api {

struct HttpLimits {
  FramingLimits framing;
  // Connections beyond this are answered 503 and closed at once, so that the process
  // never runs out of descriptors (where Pistache's accept loop would spin).
  size_t max_connections = 4096;
  std::chrono::milliseconds request_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds keepalive_timeout = std::chrono::seconds(300);
  std::shared_ptr<DrainState> drain = std::make_shared<DrainState>();
};

// Applies every connection's timeouts about once a second (Connection::Tick), on a
// thread of its own. Shared by a server's handler clones. Thread-safe.
class ConnectionSweeper {
 public:
  ConnectionSweeper(std::chrono::milliseconds request_timeout,
                    std::chrono::milliseconds keepalive_timeout,
                    std::shared_ptr<const DrainState> drain);
  ~ConnectionSweeper();
  void Add(std::weak_ptr<Connection> connection);

 private:
  void Run();

  const std::chrono::milliseconds request_timeout_;
  const std::chrono::milliseconds keepalive_timeout_;
  const std::shared_ptr<const DrainState> drain_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::weak_ptr<Connection>> live_;
  std::thread thread_;
};

class HttpHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(HttpHandler)

  HttpHandler(std::shared_ptr<const Router> router, service::KeyService* keys, HttpLimits limits);

  // The live connections of every clone.
  size_t open_connections() const { return open_connections_->load(); }

  // Unused: requests are framed by Connection, not by Pistache's parser.
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override;

 private:
  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;

  static void Dispatch(const Router& router, service::KeyService& keys,
                       const std::shared_ptr<DrainState>& drain,
                       const std::shared_ptr<Connection>& connection, HttpRequest request);

  std::shared_ptr<const Router> router_;
  service::KeyService* keys_;
  HttpLimits limits_;
  std::shared_ptr<std::atomic<size_t>> open_connections_;
  std::shared_ptr<const Connection::Callbacks> callbacks_;
  std::shared_ptr<ConnectionSweeper> sweeper_;
  // This clone's connections (Pistache gives each reactor thread its own clone, and
  // calls it on that thread only). Held here, not in the peer's data, so that every
  // owner of a connection is our code, where the sanitizers see the hand-offs.
  std::unordered_map<const Pistache::Tcp::Peer*, std::shared_ptr<Connection>> connections_;
};

}  // namespace ledgerflow::api
