#include "api/server.h"

#include <pistache/endpoint.h>

#include "api/audit_routes.h"
#include "api/http_handler.h"
#include "api/key_routes.h"
#include "api/openapi.h"
#include "api/workflow_routes.h"

namespace ledgerflow::api {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Method;

// Headers can be large (keys, request ids); bodies are bounded separately.
constexpr size_t kHeaderAllowance = 64 * 1024;

}  // namespace

std::shared_ptr<Router> BuildRouter(service::Ledger& ledger, StreamWorkers& streams) {
  auto router = std::make_shared<Router>();
  AddWorkflowRoutes(*router, ledger.workflows());
  AddKeyRoutes(*router, ledger.keys());
  AddAuditRoutes(*router, ledger.audit(), ledger.keys(), streams);
  // The OpenAPI route serves a document of the finished table.
  auto document = std::make_shared<std::string>();
  router->Add({Method::Get, "/healthz", std::nullopt,
               [](ApiRequest&, ResponderPtr out) {
                 out->SendJsonText(Code::Ok, R"({"status":"ok"})");
               },
               {"Liveness probe", "System"}});
  router->Add({Method::Get, "/api/openapi.json", std::nullopt,
               [document](ApiRequest&, ResponderPtr out) {
                 out->SendJsonText(Code::Ok, *document);
               },
               {"The OpenAPI 3 document of this API", "System"}});
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
    auto opts = Pistache::Http::Endpoint::options()
                    .threads(options_.threads)
                    .flags(Pistache::Tcp::Options::ReuseAddr)
                    .maxRequestSize(options_.max_body_bytes + kHeaderAllowance);
    endpoint_->init(opts);
    endpoint_->setHandler(std::make_shared<HttpHandler>(router_, &ledger_.keys(),
                                                        options_.max_body_bytes));
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

void Server::Stop() {
  if (!endpoint_) return;
  // Stream writers first: they write through the endpoint's transport.
  if (streams_) streams_->StopAll();
  endpoint_->shutdown();
  endpoint_.reset();
}

}  // namespace ledgerflow::api
