#include "api/connection.h"

#include "api/http_metrics.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>

#include <pistache/async.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <pistache/transport.h>

#include "api/memory_release.h"
#include "api/tail_writer.h"

namespace ledgerflow::api {
namespace {

// What is read and dropped after an answer that closes the connection, before the
// socket is closed for reading too (a reset then discards nothing the client needs).
constexpr size_t kDrainBytes = 256 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// How long the rest of an answer may take to leave, and a closing connection to end.
constexpr auto kTailDeadline = std::chrono::seconds(30);
constexpr auto kOrphanDeadline = std::chrono::seconds(10);
constexpr auto kClosingGrace = std::chrono::seconds(5);

}  // namespace

Connection::Connection(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                       Pistache::Tcp::Transport* transport, FramingLimits limits,
                       std::shared_ptr<const Callbacks> callbacks,
                       std::shared_ptr<std::atomic<size_t>> open_connections)
    : peer_(peer),
      fd_(peer->fd()),
      transport_(transport),
      reactor_(std::this_thread::get_id()),
      callbacks_(std::move(callbacks)),
      open_connections_(std::move(open_connections)),
      max_buffered_(limits.max_body_bytes + limits.max_header_bytes +
                    limits.max_request_line_bytes + kPipelineSlack),
      framing_(limits),
      last_active_(std::chrono::steady_clock::now()) {
  open_connections_->fetch_add(1, std::memory_order_relaxed);
  Http().open_connections.Add(1);
}

Connection::~Connection() {
  // The last owner may be any thread (the sweeper, a command's answer), and the
  // reactor's own reference is dropped inside Pistache, where no sanitizer sees it:
  // taking the mutex the reactor took last (OnDisconnected) orders everything the
  // reactor did before what follows, visibly.
  std::lock_guard<std::mutex> lock(mu_);
  open_connections_->fetch_sub(1, std::memory_order_relaxed);
  Http().open_connections.Add(-1);
  if (orphan_fd_ >= 0) ::close(orphan_fd_);
  const size_t held = framing_.buffered_bytes() + pending_.capacity();
  framing_.DropRequest();
  std::string().swap(pending_);
  ReleaseFreedMemory(held);
}

ssize_t Connection::WriteSomeLocked(std::string_view bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + written, bytes.size() - written,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return -1;
  }
  return static_cast<ssize_t>(written);
}

void Connection::OnInput(std::string_view bytes) {
  bool held = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    if (detached_) {
      // A stream's client has nothing to send; one that keeps sending is cut off.
      detached_input_ += bytes.size();
      if (detached_input_ > kPipelineSlack) AbortLocked();
      return;
    }
    if (closing_) {
      pending_.clear();
      pending_pos_ = 0;
      if (bytes.size() >= drain_budget_) {
        drain_budget_ = 0;
        AbortLocked();
      } else {
        drain_budget_ -= bytes.size();
      }
      return;
    }
    const size_t held_bytes = pending_.size() - pending_pos_;
    if (awaiting_answer_ || held_bytes > 0) {
      if (held_bytes + bytes.size() > max_buffered_) {
        // More than any one request can hold, sent while the last is being answered.
        closing_ = true;
        drain_budget_ = 0;
        AbortLocked();
        return;
      }
      pending_.append(bytes);
      has_pending_ = true;
      if (awaiting_answer_) return;
      held = true;
    }
  }
  if (held) {
    ProcessPending();
  } else {
    Process(bytes, /*from_pending=*/false);
  }
}

void Connection::ProcessPending() {
  if (pending_pos_ > kPipelineSlack && pending_pos_ * 2 > pending_.size()) {
    pending_.erase(0, pending_pos_);
    pending_pos_ = 0;
  }
  Process(std::string_view(pending_).substr(pending_pos_), /*from_pending=*/true);
}

void Connection::ClearPending() {
  pending_.clear();
  pending_pos_ = 0;
  std::lock_guard<std::mutex> lock(mu_);
  has_pending_ = false;
}

void Connection::Process(std::string_view data, bool from_pending) {
  auto peer = peer_.lock();
  if (!peer) return;
  auto self = shared_from_this();
  int dispatched = 0;
  for (;;) {
    const auto result = framing_.Feed(data);
    const bool busy = framing_.mid_request() ||
                      result.outcome != RequestFraming::Outcome::kNeedMore;
    if (busy != was_mid_request_ || framing_.mid_request() != was_mid_request_) {
      std::lock_guard<std::mutex> lock(mu_);
      if (busy && !was_mid_request_) {
        request_started_ = std::chrono::steady_clock::now();  // the request timeout counts from here
        seen_request_ = true;
      }
      mid_request_ = framing_.mid_request();
    }
    was_mid_request_ = framing_.mid_request();
    if (framing_.TakeContinueRequest()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_) WriteSomeLocked(kContinue);
    }
    switch (result.outcome) {
      case RequestFraming::Outcome::kNeedMore:
        if (from_pending) ClearPending();
        return;
      case RequestFraming::Outcome::kRefused: {
        if (from_pending) ClearPending();
        {
          std::lock_guard<std::mutex> lock(mu_);
          awaiting_answer_ = true;  // the refusal is the answer
        }
        callbacks_->refuse(self, framing_.refusal(), Pistache::Http::Version::Http11);
        return;
      }
      case RequestFraming::Outcome::kRequestReady: {
        HttpRequest request = framing_.TakeRequest();
        // What follows the request waits in pending_ (without copying it again when
        // it is there already).
        if (from_pending) {
          pending_pos_ += result.consumed;
        } else {
          pending_.assign(data.substr(result.consumed));
          pending_pos_ = 0;
          from_pending = true;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          awaiting_answer_ = true;
          has_pending_ = pending_pos_ < pending_.size();
        }
        dispatching_ = true;
        resume_requested_ = false;
        callbacks_->dispatch(self, std::move(request));
        dispatching_ = false;
        if (!resume_requested_) return;
        // Answered at once, with the next request already here: go on with it, a few
        // requests per turn so that other connections get theirs.
        resume_requested_ = false;
        if (++dispatched >= kRequestsPerTurn) {
          PostToReactor([self] { self->Resume(); });
          return;
        }
        data = std::string_view(pending_).substr(pending_pos_);
        break;
      }
    }
  }
}

void Connection::Answer(std::string bytes, bool keep_alive) {
  std::unique_lock<std::mutex> lock(mu_);
  if (orphan_fd_ >= 0) {
    const int fd = orphan_fd_;
    orphan_fd_ = -1;
    awaiting_answer_ = false;
    lock.unlock();
    // Never a wait here (this may be the event store's writer thread): the tail
    // writer sends it, on the socket of our own, and closes it.
    TailWriter::Instance().Add(fd, std::move(bytes),
                               std::chrono::steady_clock::now() + kOrphanDeadline,
                               /*shutdown_after=*/true, nullptr);
    return;
  }
  if (closed_ || closing_ || detached_) {
    awaiting_answer_ = false;
    return;
  }
  auto peer = peer_.lock();
  if (!peer) return;
  const ssize_t written = WriteSomeLocked(bytes);
  if (written < 0) {  // the client is gone; the reactor will see it
    awaiting_answer_ = false;
    return;
  }
  if (static_cast<size_t>(written) < bytes.size()) {
    // The socket is full: the tail writer sends the rest as it drains, on a dup of
    // the socket (made while it is surely open), and then this answer is done.
    const int fd = ::dup(fd_);
    if (fd < 0) {
      AbortLocked();
      return;
    }
    lock.unlock();
    auto self = shared_from_this();
    TailWriter::Instance().Add(
        fd, bytes.substr(static_cast<size_t>(written)),
        std::chrono::steady_clock::now() + kTailDeadline, /*shutdown_after=*/false,
        [self, keep_alive](bool written_all) {
          if (written_all) return self->AnswerWritten(keep_alive);
          std::lock_guard<std::mutex> guard(self->mu_);
          if (!self->closed_) self->AbortLocked();  // too slow a reader, or gone
        });
    return;
  }
  lock.unlock();
  AnswerWritten(keep_alive);
}

void Connection::AnswerWritten(bool keep_alive) {
  std::unique_lock<std::mutex> lock(mu_);
  awaiting_answer_ = false;
  last_active_ = std::chrono::steady_clock::now();
  if (!keep_alive) {
    StartClosingLocked();
    return;
  }
  if (closed_ || closing_ || detached_) return;
  const bool more = has_pending_;
  lock.unlock();
  if (!more) return;
  if (OnReactor()) {
    if (dispatching_) {
      resume_requested_ = true;
    } else {
      Resume();
    }
    return;
  }
  auto self = shared_from_this();
  PostToReactor([self] { self->Resume(); });
}

void Connection::Resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (awaiting_answer_ || closed_ || closing_ || detached_) return;
  }
  if (pending_pos_ < pending_.size()) ProcessPending();
}

void Connection::StartClosingLocked() {
  if (closed_ || closing_ || detached_) return;
  closing_ = true;
  closing_since_ = std::chrono::steady_clock::now();
  drain_budget_ = kDrainBytes;
  has_pending_ = false;  // what was held is dropped by the reactor (OnInput)
  ::shutdown(fd_, SHUT_WR);
}

void Connection::AbortLocked() {
  // A reset, not a FIN: a client still sending into a socket that reads no more
  // would otherwise wait on a zero window until its own timeout.
  linger reset{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  ::shutdown(fd_, SHUT_RDWR);  // the reactor reads the end and closes the socket
}

void Connection::PostToReactor(std::function<void()> fn) {
  // An empty write through Pistache's queue is a way onto its reactor thread: the
  // queue is drained there, and the write's promise resolved there. When the reactor
  // resolves it before the callback is attached, Pistache runs the callback at once,
  // here, off the reactor: then the write is queued again. A loop, not a recursion:
  // each nested attempt held a promise's mutex and a stack frame, without bound, when
  // the reactor kept winning that race (seen under ThreadSanitizer).
  auto self = shared_from_this();
  for (;;) {
    auto peer = peer_.lock();
    if (!peer) return;
    // Written only by a callback run inline, on this thread, before `then` returns.
    auto resolved_here = std::make_shared<bool>(false);
    peer->send(Pistache::RawBuffer(std::string(), 0))
        .then(
            [self, fn, resolved_here](ssize_t) {
              if (self->OnReactor()) {
                fn();
              } else {
                *resolved_here = true;
              }
            },
            [](std::exception_ptr) {});
    if (!*resolved_here) return;
  }
}

void Connection::RejectAndClose(std::string_view bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  WriteSomeLocked(bytes);
  // Closed at once, not after the client's FIN: the descriptor is what is short.
  closing_ = true;
  drain_budget_ = 0;
  ::shutdown(fd_, SHUT_RDWR);
}

void Connection::Tick(std::chrono::steady_clock::time_point now,
                      std::chrono::milliseconds request_timeout,
                      std::chrono::milliseconds keepalive_timeout) {
  auto self = shared_from_this();
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_ || detached_ || awaiting_answer_) return;
  if (closing_) {
    if (now - closing_since_ > kClosingGrace) AbortLocked();  // the client never closed
    return;
  }
  if (mid_request_) {
    if (now - request_started_ <= request_timeout) return;
    awaiting_answer_ = true;  // the 408 is the answer
    lock.unlock();
    FramingRefusal timeout{408, "request_timeout",
                           "The request did not arrive whole within " +
                               std::to_string(request_timeout.count() / 1000) + " s"};
    callbacks_->refuse(self, timeout, Pistache::Http::Version::Http11);
    return;
  }
  // Idle: a connection that never sent a request gets the request timeout.
  if (now - last_active_ > (seen_request_ ? keepalive_timeout : request_timeout)) {
    closing_ = true;
    closing_since_ = now;
    ::shutdown(fd_, SHUT_RDWR);  // the reactor reads the end and drops the connection
  }
}

void Connection::OnDisconnected() {
  std::lock_guard<std::mutex> lock(mu_);
  if (awaiting_answer_ && !detached_ && !closing_ && !closed_) {
    // The client half-closed after its request: answer it on a socket of our own.
    orphan_fd_ = ::dup(fd_);
  }
  closed_ = true;
}

int Connection::Detach() {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_ || detached_ || closing_) return -1;
  const int fd = ::dup(fd_);
  if (fd < 0) return -1;
  detached_ = true;  // no timeout of ours applies to it any more
  awaiting_answer_ = false;
  return fd;
}

}  // namespace ledgerflow::api
