// A small blocking HTTP client over libcurl for tests and tools. One instance per
// thread (it reuses its connection).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <curl/curl.h>

namespace ledgerflow::testing {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;                           // curl's, when status is 0

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(std::string base_url);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method path` with `body` (JSON) and extra "Name: value" headers. Adds the
  // bearer token when one is set.
  HttpResponse Send(const std::string& method, const std::string& path,
                    const std::string& body = "", std::vector<std::string> headers = {});
  HttpResponse Get(const std::string& path) { return Send("GET", path); }
  HttpResponse Post(const std::string& path, const std::string& body) {
    return Send("POST", path, body);
  }

  // GETs a streaming response, collecting the body until `enough(body)` is true or
  // `timeout_ms` passes; then drops the connection.
  HttpResponse StreamUntil(const std::string& path, std::vector<std::string> headers,
                           const std::function<bool(const std::string&)>& enough,
                           long timeout_ms = 10000);

  void set_token(std::string token) { token_ = std::move(token); }

  // Called with every complete answer any client of the process receives (streams
  // cut short by StreamUntil are not complete). Set once, before clients run.
  using AnswerObserver = std::function<void(const std::string& method, const std::string& target,
                                            const HttpResponse& answer)>;
  static void SetAnswerObserver(AnswerObserver observer);
  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  std::string token_;
  CURL* curl_;
};

}  // namespace ledgerflow::testing
