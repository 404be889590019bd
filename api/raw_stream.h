// A chunked HTTP response written straight to the client's socket from a stream
// thread. Pistache 0.0.5's ResponseStream::flush is not safe off its reactor thread
// (its write queue asserts and terminates the process, pistache issue #1006), so
// long-lived responses own a dup of the socket instead: Pistache never writes to the
// connection again, a closed peer shows up as a failed write, and End() shuts the
// socket down so that the reactor drops the connection. Not thread-safe; one owner.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/responder.h"

namespace ledgerflow::api {

class RawStream {
 public:
  // Sends the status line and headers; nullopt when the request was already answered
  // or the client is gone.
  static std::optional<RawStream> Start(Responder& responder, int status,
                                        std::string_view reason, std::string_view mime);

  RawStream(RawStream&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RawStream& operator=(RawStream&&) = delete;
  ~RawStream();

  // Sends `data` as one chunk; false once the client is gone.
  bool Write(std::string_view data);
  // True once the client has closed its side or reset the connection (checked
  // without blocking), so that a quiet stream notices a departed client.
  bool ClientGone() const;
  // Sends the last chunk and closes the connection.
  void End();

 private:
  explicit RawStream(int fd) : fd_(fd) {}
  bool SendAll(std::string_view bytes);

  int fd_ = -1;
};

}  // namespace ledgerflow::api
