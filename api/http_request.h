// One parsed HTTP/1.x request, as the request framing builds it and the router and
// handlers read it. A plain value; not thread-safe to mutate while shared.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pistache/http_defs.h>

namespace ledgerflow::api {

struct HttpRequest {
  // nullopt: a method the API has no route for (answered 405).
  std::optional<Pistache::Http::Method> method;
  std::string method_name;  // as sent
  std::string target;       // the request target as sent (origin or absolute form)
  std::string path;         // its path, still percent-encoded
  std::string query;        // what follows '?', without it
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as sent
  std::string body;         // de-chunked
  Pistache::Http::Version version = Pistache::Http::Version::Http11;
  bool keep_alive = true;   // the client may send another request on this connection

  // The first header named `name` (case-insensitively), or nullptr.
  const std::string* Header(std::string_view name) const;
  // The raw (still percent-encoded) value of the first query parameter `name`, or
  // nullopt. A parameter without '=' has an empty value.
  std::optional<std::string_view> QueryValue(std::string_view name) const;
};

}  // namespace ledgerflow::api
