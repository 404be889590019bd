#include "tests/support/http_client.h"

#include <algorithm>
#include <cctype>

namespace ledgerflow::testing {
namespace {

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(value.begin());
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' ||
                              value.back() == ' ')) {
      value.pop_back();
    }
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

struct StreamState {
  std::string* body;
  const std::function<bool(const std::string&)>* enough;
};

size_t OnStreamBody(char* data, size_t size, size_t n, void* out) {
  auto* state = static_cast<StreamState*>(out);
  state->body->append(data, size * n);
  return (*state->enough)(*state->body) ? 0 : size * n;  // 0 aborts the transfer
}

HttpClient::AnswerObserver& Observer() {
  static HttpClient::AnswerObserver observer;
  return observer;
}

}  // namespace

void HttpClient::SetAnswerObserver(AnswerObserver observer) { Observer() = std::move(observer); }

HttpClient::HttpClient(std::string base_url)
    : base_url_(std::move(base_url)), curl_(curl_easy_init()) {}

HttpClient::~HttpClient() { curl_easy_cleanup(curl_); }

HttpResponse HttpClient::Send(const std::string& method, const std::string& path,
                              const std::string& body, std::vector<std::string> headers) {
  HttpResponse out;
  curl_easy_reset(curl_);
  std::string url = base_url_ + path;
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
  if (method == "HEAD") curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    headers.push_back("Content-Type: application/json");
  }
  if (!token_.empty()) headers.push_back("Authorization: Bearer " + token_);
  headers.push_back("Expect:");
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &out.headers);
  CURLcode rc = curl_easy_perform(curl_);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    out.error = curl_easy_strerror(rc);
    return out;
  }
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &out.status);
  if (Observer()) Observer()(method, path, out);
  return out;
}

HttpResponse HttpClient::StreamUntil(const std::string& path, std::vector<std::string> headers,
                                     const std::function<bool(const std::string&)>& enough,
                                     long timeout_ms) {
  HttpResponse out;
  curl_easy_reset(curl_);
  std::string url = base_url_ + path;
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (!token_.empty()) headers.push_back("Authorization: Bearer " + token_);
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
  StreamState state{&out.body, &enough};
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, OnStreamBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &out.headers);
  CURLcode rc = curl_easy_perform(curl_);
  curl_slist_free_all(list);
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &out.status);
  if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) out.error = curl_easy_strerror(rc);
  // The aborted connection cannot be reused.
  curl_easy_cleanup(curl_);
  curl_ = curl_easy_init();
  return out;
}

}  // namespace ledgerflow::testing
