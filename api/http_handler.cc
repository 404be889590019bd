#include "api/http_handler.h"

#include <atomic>
#include <cstdio>

#include <pistache/peer.h>

#include "service/crypto.h"

namespace ledgerflow::api {

using Pistache::Http::Code;
using Pistache::Http::ConnectionControl;
namespace Header = Pistache::Http::Header;

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

std::string RequestIdOf(const Pistache::Http::Request& request) {
  auto raw = request.headers().tryGetRaw("X-Request-Id");
  if (raw && !raw->value().empty() && raw->value().size() <= kMaxRequestIdLength &&
      IsPrintable(raw->value())) {
    return raw->value();
  }
  return NewRequestId();
}

// HTTP/1.1 keeps the connection unless the client said close; HTTP/1.0 closes
// unless the client asked for keep-alive.
ConnectionControl ConnectionFor(const Pistache::Http::Request& request) {
  auto connection = request.headers().tryGet<Header::Connection>();
  if (connection) return connection->control();
  return request.version() == Pistache::Http::Version::Http11 ? ConnectionControl::KeepAlive
                                                              : ConnectionControl::Close;
}

}  // namespace

void HttpHandler::onInput(const char* buffer, size_t len,
                          const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto parser = getParser(peer);
  auto& request = parser->request;
  try {
    if (!parser->feed(buffer, len)) {
      parser->reset();
      Pistache::Http::ResponseWriter response(request.version(), transport(), this, peer);
      Responder(std::move(response), NewRequestId(), request.version(), /*keep_alive=*/false)
          .SendError(TooLarge("Request body is larger than " +
                              std::to_string(max_body_bytes_) + " bytes")
                         .WithReason("payload_too_large"));
      return;
    }
    auto state = parser->parse();
    if (state == Pistache::Http::Private::State::Done) {
      Pistache::Http::ResponseWriter response(request.version(), transport(), this, peer);
      request.copyAddress(peer->address());
      peer->setIdle(false);
      onRequest(request, std::move(response));
      parser->reset();
    }
  } catch (const Pistache::Http::HttpError& err) {
    Pistache::Http::ResponseWriter response(request.version(), transport(), this, peer);
    Responder(std::move(response), NewRequestId(), request.version(), /*keep_alive=*/false)
        .SendError(InvalidArgument(std::string("Malformed HTTP request: ") + err.reason())
                       .WithReason("bad_request"));
    parser->reset();
  } catch (const std::exception& e) {
    Pistache::Http::ResponseWriter response(request.version(), transport(), this, peer);
    Responder(std::move(response), NewRequestId(), request.version(), /*keep_alive=*/false)
        .SendError(Internal(e.what()));
    parser->reset();
  }
}

void HttpHandler::onRequest(const Pistache::Http::Request& request,
                            Pistache::Http::ResponseWriter writer) {
  auto responder =
      std::make_shared<Responder>(std::move(writer), RequestIdOf(request), request.version(),
                                  ConnectionFor(request) == ConnectionControl::KeepAlive);
  try {
    // HEAD is answered by the GET route, without the body (RFC 9110, section 9.3.2).
    auto method = request.method();
    if (method == Pistache::Http::Method::Head) {
      method = Pistache::Http::Method::Get;
      responder->set_head_only();
    }
    Router::Match match = router_->Find(method, request.resource());
    if (match.route == nullptr) {
      if (!match.allowed.empty()) {
        std::string allow;
        for (auto m : match.allowed) {
          if (!allow.empty()) allow += ", ";
          allow += Pistache::Http::methodString(m);
          if (m == Pistache::Http::Method::Get) allow += ", HEAD";
        }
        responder->AddHeader("Allow", allow);
        responder->SendError(
            Status(StatusCode::kInvalidArgument,
                   std::string("Method not allowed; this path accepts ") + allow)
                .WithReason("method_not_allowed"),
            Code::Method_Not_Allowed);
        return;
      }
      return responder->SendError(
          NotFound("No route for " + std::string(Pistache::Http::methodString(request.method())) +
                   " " + request.resource())
              .WithReason("route_not_found"));
    }
    if (request.body().size() > max_body_bytes_) {
      return responder->SendError(TooLarge("Request body is larger than " +
                                           std::to_string(max_body_bytes_) + " bytes")
                                      .WithReason("payload_too_large"));
    }
    ApiRequest api_request{request, std::move(match.params), {}};
    if (match.route->min_role) {
      // Pistache parses Authorization into its typed header.
      auto typed = request.headers().tryGet<Header::Authorization>();
      auto caller = keys_->Authenticate(typed ? typed->value() : std::string());
      if (!caller.ok()) return responder->SendError(caller.status());
      if (caller->role < *match.route->min_role) {
        return responder->SendError(
            PermissionDenied(std::string("This needs the ") +
                             core::RoleName(*match.route->min_role) + " role; the key is " +
                             core::RoleName(caller->role))
                .WithReason("forbidden"));
      }
      api_request.caller = std::move(*caller);
    }
    api_request.caller.request_id = responder->request_id();
    match.route->handler(api_request, responder);
  } catch (const std::exception& e) {
    responder->SendError(Internal(std::string("unexpected error: ") + e.what()));
  }
}

}  // namespace ledgerflow::api
