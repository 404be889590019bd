#include "tests/support/http_target.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace ledgerflow::testing {

HttpTarget::HttpTarget(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 512) != 0) {
    throw std::runtime_error("the HTTP target cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

HttpTarget::~HttpTarget() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
}

void HttpTarget::set_handler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

void HttpTarget::Accept() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void HttpTarget::Serve(int fd) {
  std::string in;
  char buf[8192];
  size_t header_end = std::string::npos;
  auto read_more = [&]() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
    return true;
  };
  while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) return (void)::close(fd);
  }
  TargetRequest req;
  size_t line_end = in.find("\r\n");
  std::string line = in.substr(0, line_end);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  req.method = line.substr(0, sp1);
  req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end + 2;
  while (pos < header_end) {
    size_t e = in.find("\r\n", pos);
    std::string h = in.substr(pos, e - pos);
    size_t colon = h.find(':');
    if (colon != std::string::npos) {
      std::string name = h.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      size_t v = colon + 1;
      while (v < h.size() && h[v] == ' ') ++v;
      req.headers[name] = h.substr(v);
    }
    pos = e + 2;
  }
  size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
  while (in.size() < header_end + 4 + length) {
    if (!read_more()) break;
  }
  req.body = in.substr(header_end + 4, length);

  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(req);
    int& active = ++active_[req.path];
    max_active_[req.path] = std::max(max_active_[req.path], active);
    handler = handler_;
  }
  changed_.notify_all();
  TargetAnswer answer = handler ? handler(req) : TargetAnswer{};
  if (answer.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(answer.delay_ms));
  std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " X\r\nContent-Type: " +
                    answer.content_type + "\r\nX-Target: yes\r\nContent-Length: " +
                    std::to_string(answer.body.size()) + "\r\nConnection: close\r\n\r\n" +
                    answer.body;
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --active_[req.path];
  }
  ::close(fd);
}

std::vector<TargetRequest> HttpTarget::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t HttpTarget::Count(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(), [&](const TargetRequest& r) {
    return r.path.rfind(prefix, 0) == 0;
  }));
}

int HttpTarget::MaxConcurrent(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  int most = 0;
  // Per path, then the largest: callers use one path per concurrency question.
  for (const auto& [path, n] : max_active_) {
    if (path.rfind(prefix, 0) == 0) most = std::max(most, n);
  }
  return most;
}

size_t HttpTarget::WaitFor(const std::string& prefix, size_t n, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  auto count = [&] {
    return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(), [&](const TargetRequest& r) {
      return r.path.rfind(prefix, 0) == 0;
    }));
  };
  changed_.wait_until(lock, deadline, [&] { return count() >= n; });
  return count();
}

}  // namespace ledgerflow::testing
