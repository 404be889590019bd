// A chunked HTTP response written straight to the client's socket from a stream
// thread. Pistache 0.0.5's ResponseStream::flush is not safe off its reactor thread
// (its write queue asserts and terminates the process, pistache issue #1006), so
// long-lived responses own a dup of the socket instead: Pistache never writes to the
// connection again, a closed peer shows up as a failed write, and End() shuts the
// socket down so that the reactor drops the connection. Not thread-safe; one owner.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/responder.h"
#include "api/stream_workers.h"

namespace ledgerflow::api {

class RawStream {
 public:
  // Sends the status line and headers; nullopt when the request was already answered
  // or the client is gone. A write that waits for a client reading slowly gives up
  // once `stop` is set (what the socket takes at once is still written, so that a
  // final event reaches a client that reads). A finite stream stays counted among
  // the drain's unanswered requests until it is destroyed, so that a drain waits for
  // it; an endless one counts as answered once it has begun.
  static std::optional<RawStream> Start(Responder& responder, int status,
                                        std::string_view reason, std::string_view mime,
                                        StreamKind kind, const std::atomic<bool>& stop);

  RawStream(RawStream&& other) noexcept
      : fd_(other.fd_),
        stop_(other.stop_),
        broken_(other.broken_),
        counted_in_(std::move(other.counted_in_)) {
    other.fd_ = -1;
  }
  RawStream& operator=(RawStream&&) = delete;
  ~RawStream();

  // Sends `data` as one chunk; false once the client is gone or a send failed part
  // way (nothing more is sent then: bytes after a cut chunk would be read as its
  // rest, and a client would take a cut event for a whole one).
  bool Write(std::string_view data);
  // True once the client has closed its side or reset the connection (checked
  // without blocking), so that a quiet stream notices a departed client.
  bool ClientGone() const;
  // Sends the last chunk and closes the connection. A stream dropped without End()
  // closes with its body unterminated, so that the client sees it is incomplete.
  void End();

 private:
  RawStream(int fd, const std::atomic<bool>& stop) : fd_(fd), stop_(&stop) {}
  bool SendAll(std::string_view bytes);

  int fd_ = -1;
  const std::atomic<bool>* stop_;
  bool broken_ = false;  // a send failed: the stream ends without another byte
  std::shared_ptr<DrainState> counted_in_;  // a finite stream's drain, until its end
};

}  // namespace ledgerflow::api
