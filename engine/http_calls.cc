#include "engine/http_calls.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace ledgerflow::engine {
namespace {

std::once_flag curl_init_once;

size_t OnBody(char* data, size_t size, size_t count, void* user);
size_t OnHeader(char* data, size_t size, size_t count, void* user);

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

struct HttpCalls::Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;  // the request body; libcurl reads it in place
  HttpOutcome outcome;
  std::function<void(HttpOutcome)> done;
  char error[CURL_ERROR_SIZE] = {};
  int64_t timeout_ms = 0;

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }
};

namespace {

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<HttpCalls::Transfer*>(user);
  size_t n = size * count;
  size_t room = HttpCalls::kMaxBodyBytes - std::min(HttpCalls::kMaxBodyBytes, t->outcome.body.size());
  if (n > room) t->outcome.truncated = true;
  t->outcome.body.append(data, std::min(n, room));
  return n;  // keep reading (and dropping) the rest: the status and headers still count
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<HttpCalls::Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->outcome.headers.clear();  // a new response (after a 100 Continue or a redirect)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string name = Trim(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (t->outcome.headers.size() < 100) {
      t->outcome.headers.emplace_back(std::move(name), Trim(line.substr(colon + 1)));
    }
  }
  return n;
}

}  // namespace

HttpCalls::HttpCalls() {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
}

HttpCalls::~HttpCalls() {
  for (auto& [id, t] : transfers_) curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  transfers_.clear();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

uint64_t HttpCalls::Start(const HttpCall& call, std::function<void(HttpOutcome)> done) {
  auto t = std::make_unique<Transfer>();
  t->done = std::move(done);
  t->body = call.body;
  t->timeout_ms = call.timeout_ms;
  CURL* e = curl_easy_init();
  t->easy = e;
  curl_easy_setopt(e, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  if (call.method == "HEAD") curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (!t->body.empty() || call.method == "POST" || call.method == "PUT" ||
      call.method == "PATCH") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
  }
  for (const auto& [name, value] : call.headers) {
    t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
  }
  // No "Expect: 100-continue" round trip for larger bodies.
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, call.timeout_ms)));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, std::min<int64_t>(call.timeout_ms, 10000))));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "ledgerflow");
  uint64_t id = next_id_++;
  curl_easy_setopt(e, CURLOPT_PRIVATE, reinterpret_cast<void*>(id));
  curl_multi_add_handle(static_cast<CURLM*>(multi_), e);
  transfers_.emplace(id, std::move(t));
  return id;
}

void HttpCalls::Cancel(uint64_t id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), it->second->easy);
  transfers_.erase(it);
}

void HttpCalls::Wakeup() { curl_multi_wakeup(static_cast<CURLM*>(multi_)); }

void HttpCalls::Poll(int timeout_ms, const std::vector<int>& read_fds) {
  auto* multi = static_cast<CURLM*>(multi_);
  std::vector<curl_waitfd> extra;
  extra.reserve(read_fds.size());
  for (int fd : read_fds) extra.push_back({fd, CURL_WAIT_POLLIN, 0});
  curl_multi_poll(multi, extra.data(), static_cast<unsigned>(extra.size()), std::max(0, timeout_ms),
                  nullptr);
  int running = 0;
  curl_multi_perform(multi, &running);
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    void* priv = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    auto it = transfers_.find(reinterpret_cast<uint64_t>(priv));
    if (it == transfers_.end()) continue;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(multi, t->easy);
    if (msg->data.result == CURLE_OK) {
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->outcome.status);
    } else if (msg->data.result == CURLE_OPERATION_TIMEDOUT) {
      t->outcome.transport_error = "the attempt timed out after " +
                                   std::to_string(t->timeout_ms) + " ms (" + t->error + ")";
    } else {
      t->outcome.transport_error =
          t->error[0] != '\0' ? std::string(t->error) : curl_easy_strerror(msg->data.result);
    }
    auto done = std::move(t->done);
    HttpOutcome outcome = std::move(t->outcome);
    t.reset();
    done(std::move(outcome));
  }
}

}  // namespace ledgerflow::engine
