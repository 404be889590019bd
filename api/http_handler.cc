#include "api/http_handler.h"

#include "api/log.h"


#include <cstdio>

#include <pistache/peer.h>

#include "api/memory_release.h"
#include "service/crypto.h"

namespace ledgerflow::api {

using Pistache::Http::Code;

namespace {

constexpr size_t kMaxRequestIdLength = 128;

bool IsPrintable(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Generated ids: a random per-process prefix and a counter (unique, and no CSPRNG
// call on every request).
std::string NewRequestId() {
  static const std::string prefix = "req_" + service::RandomHex(4);
  static std::atomic<uint64_t> counter{0};
  char suffix[24];
  std::snprintf(suffix, sizeof(suffix), "%08llx",
                static_cast<unsigned long long>(counter.fetch_add(1) + 1));
  return prefix + suffix;
}

std::string RequestIdOf(const HttpRequest& request) {
  const std::string* raw = request.Header("X-Request-Id");
  if (raw && !raw->empty() && raw->size() <= kMaxRequestIdLength && IsPrintable(*raw)) {
    return *raw;
  }
  return NewRequestId();
}

std::optional<Code> CodeOf(int status) {
  switch (status) {
    case 400: return Code::Bad_Request;
    case 408: return Code::Request_Timeout;
    case 413: return Code::Request_Entity_Too_Large;
    case 414: return Code::RequestURI_Too_Long;
    case 417: return Code::Expectation_Failed;
    case 431: return Code::Request_Header_Fields_Too_Large;
    case 503: return Code::Service_Unavailable;
    default: return std::nullopt;
  }
}

// The Allow header of a 405: the methods a path has, and HEAD wherever GET is.
std::string AllowOf(const std::vector<Pistache::Http::Method>& methods) {
  std::string allow;
  for (auto m : methods) {
    if (!allow.empty()) allow += ", ";
    allow += Pistache::Http::methodString(m);
    if (m == Pistache::Http::Method::Get) allow += ", HEAD";
  }
  return allow;
}

}  // namespace

HttpHandler::HttpHandler(std::shared_ptr<const Router> router, service::KeyService* keys,
                         HttpLimits limits)
    : router_(std::move(router)),
      keys_(keys),
      limits_(limits),
      open_connections_(std::make_shared<std::atomic<size_t>>(0)),
      sweeper_(std::make_shared<ConnectionSweeper>(limits.request_timeout,
                                                   limits.keepalive_timeout, limits.drain)) {
  auto callbacks = std::make_shared<Connection::Callbacks>();
  callbacks->dispatch = [router = router_, keys, drain = limits.drain](
                            const std::shared_ptr<Connection>& connection, HttpRequest request) {
    const size_t body_bytes = request.body.capacity();
    Dispatch(*router, *keys, drain, connection, std::move(request));
    ReleaseFreedMemory(body_bytes);
  };
  callbacks->refuse = [](const std::shared_ptr<Connection>& connection,
                         const FramingRefusal& refusal, Pistache::Http::Version version) {
    Responder responder(connection, NewRequestId(), version, /*keep_alive=*/false);
    const StatusCode code =
        refusal.status == 413 ? StatusCode::kTooLarge : StatusCode::kInvalidArgument;
    responder.SendError(Status(code, refusal.message).WithReason(refusal.code),
                        CodeOf(refusal.status));
  };
  callbacks_ = std::move(callbacks);
}

void HttpHandler::onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  // Pistache's idle checker reads the time and step of its own parser for every peer;
  // it is kept (never fed) so that its header and keep-alive timeouts still apply.
  peer->putData(ParserData, std::make_shared<Pistache::Http::RequestParser>(0));
  auto connection = std::make_shared<Connection>(peer, transport(), limits_.framing,
                                                 callbacks_, open_connections_);
  connections_[peer.get()] = connection;
  sweeper_->Add(connection);
  if (limits_.drain->draining.load()) {
    Status stopping = Status(StatusCode::kUnavailable, "The server is shutting down; retry")
                          .WithReason("shutting_down");
    std::string body = ErrorEnvelope(stopping, NewRequestId());
    connection->RejectAndClose(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Connection: Close\r\nRetry-After: 1\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    return;
  }
  if (open_connections_->load() > limits_.max_connections) {
    Status busy = Status(StatusCode::kUnavailable,
                         "The server has all the connections it may have open; retry later")
                      .WithReason("too_many_connections");
    std::string body = ErrorEnvelope(busy, NewRequestId());
    connection->RejectAndClose(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Connection: Close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
  }
}

ConnectionSweeper::ConnectionSweeper(std::chrono::milliseconds request_timeout,
                                     std::chrono::milliseconds keepalive_timeout,
                                     std::shared_ptr<const DrainState> drain)
    : request_timeout_(request_timeout),
      keepalive_timeout_(keepalive_timeout),
      drain_(std::move(drain)),
      thread_([this] { Run(); }) {}

ConnectionSweeper::~ConnectionSweeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ConnectionSweeper::Add(std::weak_ptr<Connection> connection) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.push_back(std::move(connection));
}

void ConnectionSweeper::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
    std::vector<std::shared_ptr<Connection>> due;
    size_t kept = 0;
    for (size_t i = 0; i < live_.size(); ++i) {
      auto connection = live_[i].lock();
      if (!connection) continue;
      due.push_back(std::move(connection));
      if (kept != i) live_[kept] = std::move(live_[i]);  // never onto itself
      ++kept;
    }
    live_.resize(kept);
    lock.unlock();
    const auto now = std::chrono::steady_clock::now();
    // While draining, a keep-alive connection idle for a second is closed: a client
    // that sends nothing more is not waited for.
    const bool draining = drain_ && drain_->draining.load();
    const auto idle = draining ? std::min<std::chrono::milliseconds>(keepalive_timeout_,
                                                                     std::chrono::seconds(1))
                               : keepalive_timeout_;
    for (auto& connection : due) connection->Tick(now, request_timeout_, idle);
    due.clear();  // the last owner may be here: destroyed outside the lock
    lock.lock();
  }
}

void HttpHandler::onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto it = connections_.find(peer.get());
  if (it == connections_.end()) return;
  it->second->OnDisconnected();
  connections_.erase(it);
}

void HttpHandler::onInput(const char* buffer, size_t len,
                          const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto it = connections_.find(peer.get());
  if (it != connections_.end()) it->second->OnInput(std::string_view(buffer, len));
}

void HttpHandler::onRequest(const Pistache::Http::Request&, Pistache::Http::ResponseWriter) {}

void HttpHandler::Dispatch(const Router& router, service::KeyService& keys,
                           const std::shared_ptr<DrainState>& drain,
                           const std::shared_ptr<Connection>& connection, HttpRequest request) {
  // A request received while draining is answered, and its connection then closed.
  auto responder = std::make_shared<Responder>(connection, RequestIdOf(request),
                                               request.version,
                                               request.keep_alive && !drain->draining.load());
  responder->Track(drain);
  responder->access().method = request.method_name;
  responder->access().path = request.path;
  responder->access().bytes_in = request.body.size();
  try {
    if (!request.method) {
      const std::string allow =
          AllowOf(router.Find(Pistache::Http::Method::Options, request.path).allowed);
      if (!allow.empty()) responder->AddHeader("Allow", allow);
      return responder->SendError(
          Status(StatusCode::kInvalidArgument,
                 "The method " + request.method_name + " is not supported here")
              .WithReason("method_not_allowed"),
          Code::Method_Not_Allowed);
    }
    // HEAD is answered by the GET route, without the body (RFC 9110, section 9.3.2).
    auto method = *request.method;
    if (method == Pistache::Http::Method::Head) {
      method = Pistache::Http::Method::Get;
      responder->set_head_only();
    }
    Router::Match match = router.Find(method, request.path);
    if (match.route == nullptr) {
      if (!match.allowed.empty()) {
        const std::string allow = AllowOf(match.allowed);
        responder->AddHeader("Allow", allow);
        responder->SendError(
            Status(StatusCode::kInvalidArgument,
                   std::string("Method not allowed; this path accepts ") + allow)
                .WithReason("method_not_allowed"),
            Code::Method_Not_Allowed);
        return;
      }
      return responder->SendError(
          NotFound("No route for " + request.method_name + " " + request.path)
              .WithReason("route_not_found"));
    }
    responder->access().route = match.route->pattern;
    ApiRequest api_request{request, std::move(match.params), {}};
    if (match.route->min_role) {
      const std::string* authorization = request.Header("Authorization");
      auto caller = keys.Authenticate(authorization ? *authorization : std::string());
      if (!caller.ok()) {
        // RFC 6750, 3: the scheme, and why a token that was sent is refused.
        responder->AddHeader("WWW-Authenticate",
                             authorization ? "Bearer realm=\"ledgerflow\", error=\"invalid_token\""
                                           : "Bearer realm=\"ledgerflow\"");
        return responder->SendError(caller.status());
      }
      if (caller->role < *match.route->min_role) {
        return responder->SendError(
            PermissionDenied(std::string("This needs the ") +
                             core::RoleName(*match.route->min_role) + " role; the key is " +
                             core::RoleName(caller->role))
                .WithReason("forbidden"));
      }
      api_request.caller = std::move(*caller);
      responder->access().key_id = api_request.caller.actor;
      responder->access().org = api_request.caller.org;
    }
    api_request.caller.request_id = responder->request_id();
    match.route->handler(api_request, responder);
  } catch (const std::exception& e) {
    // The cause goes to the log, not to the client.
    log::Write(log::Level::kError, "internal_error",
               {{"request_id", responder->request_id()},
                {"cause", std::string("unexpected exception: ") + e.what()}});
    responder->SendError(Internal("unexpected error"));
  }
}

}  // namespace ledgerflow::api
