// The route table: method + path pattern ("/api/workflows/:id/versions/:version")
// -> handler, with the least role it needs. The same table feeds dispatch, 405
// answers and the OpenAPI document. Immutable once serving; thread-safe to read.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pistache/http.h>

#include "api/http_request.h"
#include "api/responder.h"
#include "core/access.h"
#include "service/caller.h"

namespace ledgerflow::api {

// What a handler sees of a request.
struct ApiRequest {
  const HttpRequest& http;
  std::map<std::string, std::string> params;  // path captures
  service::Caller caller;                      // empty org on public routes

  const std::string& body() const { return http.body; }
  const std::string& param(const std::string& name) const { return params.at(name); }
  // A query parameter, percent-decoded.
  std::optional<std::string> query(const std::string& name) const;
  // A request header by name, case-insensitively.
  std::optional<std::string> header(const std::string& name) const;
};

using RouteHandler = std::function<void(ApiRequest&, ResponderPtr)>;

// One media type of a request or response body: its type and the name of its schema
// in the document's components.
struct MediaDoc {
  std::string type = "application/json";
  std::string schema = {};
};

struct ResponseDoc {
  int status = 200;
  std::vector<MediaDoc> content = {};     // empty: no body
  std::vector<std::string> headers = {};  // components/headers beside X-Request-Id
  std::string description = {};
};

// What the OpenAPI document says of a route; a route cannot be served undocumented.
struct RouteDoc {
  std::string summary = {};
  std::string tag = {};
  std::string operation_id = {};
  std::vector<std::string> parameters = {};  // components/parameters (query and header)
  std::vector<MediaDoc> request = {};        // empty: no body
  std::vector<ResponseDoc> responses = {};   // the successful answers
  // Errors beyond those every route can answer: 400, and 401/403 when it needs a key,
  // 404 when its path names something, 413 when it takes a body.
  std::vector<int> errors = {};
  std::string description = {};
};

struct Route {
  Pistache::Http::Method method;
  std::string pattern;
  std::optional<core::Role> min_role;  // nullopt: public, no key needed
  RouteHandler handler;
  RouteDoc doc;
};

class Router {
 public:
  void Add(Route route);

  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    std::vector<Pistache::Http::Method> allowed;  // when the path matched, not the method
  };
  // The most specific route for `path` (static segments win over captures).
  Match Find(Pistache::Http::Method method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> patterns_;  // routes_[i].pattern, split at '/'
};

std::string PercentDecode(std::string_view s);

}  // namespace ledgerflow::api
