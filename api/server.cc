#include "api/server.h"

#include <sys/resource.h>

#include <pistache/endpoint.h>

#include "api/audit_routes.h"
#include "api/http_handler.h"
#include "api/key_routes.h"
#include "api/metrics_routes.h"
#include "api/openapi.h"
#include "api/run_routes.h"
#include "api/workflow_routes.h"

namespace ledgerflow::api {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Method;

// Descriptors kept for everything but client sockets: the store's files (RocksDB's
// max_open_files is 512), two per stream, outbound calls, timers.
constexpr size_t kReservedDescriptors = 512 + 2 * 64 + 256;

// Raises the soft descriptor limit to the hard one; returns the limit in force.
size_t RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(limit.rlim_cur);
}

}  // namespace

std::shared_ptr<Router> BuildRouter(service::Ledger& ledger, StreamWorkers& streams) {
  auto router = std::make_shared<Router>();
  AddWorkflowRoutes(*router, ledger.workflows());
  AddRunRoutes(*router, ledger.runs());
  AddKeyRoutes(*router, ledger.keys());
  AddAuditRoutes(*router, ledger.audit(), ledger.keys(), streams);
  AddMetricsRoutes(*router, ledger);
  // The OpenAPI route serves a document of the finished table.
  auto document = std::make_shared<std::string>();
  router->Add({Method::Get, "/healthz", std::nullopt,
               [](ApiRequest&, ResponderPtr out) {
                 out->SendJsonText(Code::Ok, R"({"status":"ok"})");
               },
               {.summary = "Liveness probe",
                .tag = "System",
                .operation_id = "getHealth",
                .responses = {{.content = {{.schema = "Health"}}}}}});
  router->Add({Method::Get, "/api/openapi.json", std::nullopt,
               [document](ApiRequest&, ResponderPtr out) {
                 out->SendJsonText(Code::Ok, *document);
               },
               {.summary = "The OpenAPI 3 document of this API",
                .tag = "System",
                .operation_id = "getOpenApiDocument",
                .responses = {{.content = {{.schema = "OpenApiDocument"}}}}}});
  *document = OpenApiDocument(*router);
  return router;
}

Server::Server(service::Ledger& ledger, ServerOptions options)
    : ledger_(ledger), options_(std::move(options)) {}

Server::~Server() { Stop(); }

Status Server::Start() {
  try {
    streams_ = std::make_unique<StreamWorkers>(options_.max_streams);
    router_ = BuildRouter(ledger_, *streams_);
    Pistache::Address address(options_.host, Pistache::Port(options_.port));
    endpoint_ = std::make_unique<Pistache::Http::Endpoint>(address);
    // Pistache's own parser never sees a request (HttpHandler frames them), so its
    // request size limit does not apply; nor do its idle checker's timeouts (ours are
    // in Connection::Tick): its checker would close sockets without telling us.
    constexpr auto kNever = std::chrono::hours(24 * 365 * 10);
    auto opts = Pistache::Http::Endpoint::options()
                    .threads(options_.threads)
                    .flags(Pistache::Tcp::Options::ReuseAddr)
                    .headerTimeout(kNever)
                    .bodyTimeout(kNever)
                    .keepaliveTimeout(kNever);
    endpoint_->init(opts);
    const size_t descriptors = RaiseDescriptorLimit();
    max_connections_ = options_.max_connections;
    if (max_connections_ == 0) {
      max_connections_ = descriptors > 2 * kReservedDescriptors
                             ? descriptors - kReservedDescriptors
                             : std::max<size_t>(descriptors / 2, 1);
    }
    HttpLimits limits;
    limits.framing.max_body_bytes = options_.max_body_bytes;
    limits.framing.max_request_line_bytes = options_.max_request_line_bytes;
    limits.framing.max_header_bytes = options_.max_header_bytes;
    limits.max_connections = max_connections_;
    limits.request_timeout = options_.request_timeout;
    limits.keepalive_timeout = options_.keepalive_timeout;
    limits.drain = drain_;
    endpoint_->setHandler(std::make_shared<HttpHandler>(router_, &ledger_.keys(), limits));
    endpoint_->serveThreaded();
    port_ = static_cast<uint16_t>(endpoint_->getPort());
  } catch (const std::exception& e) {
    endpoint_.reset();
    return Status(StatusCode::kUnavailable,
                  "Cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                      ": " + e.what());
  }
  return Status::Ok();
}

void Server::BeginDrain() {
  drain_->draining.store(true);
  // Feeds end with a final event; exports already begun are answers to finish.
  if (streams_) streams_->EndEndless();
}

void Server::Stop() {
  if (!endpoint_) return;
  // Stream writers first: they write through the endpoint's transport.
  if (streams_) streams_->StopAll();
  endpoint_->shutdown();
  endpoint_.reset();
}

}  // namespace ledgerflow::api
