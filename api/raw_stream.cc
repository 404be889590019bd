#include "api/raw_stream.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace ledgerflow::api {
namespace {

constexpr int kSendTimeoutMs = 30'000;  // a client that reads nothing for this long is gone
constexpr int kStopCheckMs = 100;       // how often a blocked write looks at the stop flag

}  // namespace

std::optional<RawStream> RawStream::Start(Responder& responder, int status,
                                          std::string_view reason, std::string_view mime,
                                          StreamKind kind, const std::atomic<bool>& stop) {
  // Counted again before the detach answers the request, so that a drain never sees
  // zero unanswered in between.
  std::shared_ptr<DrainState> counted;
  if (kind == StreamKind::kFinite && responder.drain()) {
    counted = responder.drain();
    counted->unanswered.fetch_add(1, std::memory_order_acq_rel);
  }
  int fd = responder.DetachSocket();
  if (fd < 0) {
    if (counted) counted->unanswered.fetch_sub(1, std::memory_order_acq_rel);
    return std::nullopt;
  }
  RawStream stream(fd, stop);
  stream.counted_in_ = std::move(counted);
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                     "\r\nContent-Type: " + std::string(mime) +
                     "\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache"
                     "\r\nConnection: close\r\nX-Request-Id: " + responder.request_id() +
                     "\r\n\r\n";
  if (!stream.SendAll(head)) return std::nullopt;
  // A HEAD request gets the head and the end of the connection (it said close).
  if (responder.head_only()) return std::nullopt;
  return stream;
}

RawStream::~RawStream() {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
  }
  if (counted_in_) counted_in_->unanswered.fetch_sub(1, std::memory_order_acq_rel);
}

bool RawStream::SendAll(std::string_view bytes) {
  if (broken_) return false;
  broken_ = true;  // until every byte is sent
  while (!bytes.empty() && fd_ >= 0) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      int waited = 0;
      pollfd p{fd_, POLLOUT, 0};
      for (;;) {
        if (stop_->load() || waited >= kSendTimeoutMs) return false;
        const int ready = ::poll(&p, 1, kStopCheckMs);
        if (ready > 0) break;
        if (ready < 0 && errno != EINTR) return false;
        waited += kStopCheckMs;
      }
      if (p.revents & (POLLERR | POLLHUP)) return false;
      continue;
    }
    return false;
  }
  broken_ = fd_ < 0;
  return !broken_;
}

bool RawStream::Write(std::string_view data) {
  if (data.empty()) return true;
  char size[32];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string chunk = size;
  chunk.append(data);
  chunk += "\r\n";
  return SendAll(chunk);
}

bool RawStream::ClientGone() const {
  if (fd_ < 0) return true;
  pollfd p{fd_, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void RawStream::End() { SendAll("0\r\n\r\n"); }

}  // namespace ledgerflow::api
