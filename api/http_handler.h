// The Pistache handler: parses requests itself so that an oversized body gets our
// JSON 413 (Pistache's own is plain text) and HTTP/1.1 connections stay open
// (Pistache 0.0.5 closes them by default); then authenticates and dispatches.
#pragma once

#include <memory>

#include <pistache/http.h>

#include "api/router.h"
#include "service/key_service.h"

namespace ledgerflow::api {

class HttpHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(HttpHandler)

  HttpHandler(std::shared_ptr<const Router> router, service::KeyService* keys,
              size_t max_body_bytes)
      : router_(std::move(router)), keys_(keys), max_body_bytes_(max_body_bytes) {}

  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override;

 private:
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;

  std::shared_ptr<const Router> router_;
  service::KeyService* keys_;
  size_t max_body_bytes_;
};

}  // namespace ledgerflow::api
