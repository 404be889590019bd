// A raw-socket HTTP/1.1 client for tests that must send what real clients would not
// (malformed framing, pipelined requests, half-closes, uploads cut short) and read
// exactly what the server writes back. Blocking, with timeouts; one owner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ledgerflow::testing {

struct RawResponse {
  int status = 0;
  std::string head;                            // status line and headers, as received
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class RawClient {
 public:
  // Connects to 127.0.0.1:`port` (TCP_NODELAY, so that each Send is its own packet).
  // `receive_buffer` > 0 shrinks the socket's receive buffer (SO_RCVBUF), so that the
  // server's writes to it fill up.
  explicit RawClient(uint16_t port, int receive_buffer = 0);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False once the server has closed or reset the connection.
  bool Send(std::string_view bytes);
  // Half-close: no more bytes from this side.
  void ShutdownWrite();
  void Close();

  // The next response (a 1xx one included), or nullopt on timeout or end of stream.
  std::optional<RawResponse> ReadResponse(int timeout_ms = 5000) { return Read(timeout_ms, true); }
  // The status line and headers only (a stream's body follows; read it with ReadFor).
  std::optional<RawResponse> ReadHead(int timeout_ms = 5000) { return Read(timeout_ms, false); }
  // Whatever arrives within `timeout_ms` (or until `enough` is seen), raw.
  std::string ReadFor(int timeout_ms, std::string_view enough = {});
  // True when the server ends the connection (EOF or reset) within `timeout_ms`,
  // having sent nothing more than what is already buffered.
  bool WaitClosed(int timeout_ms = 5000);
  // Bytes received but not yet returned.
  const std::string& buffered() const { return buffer_; }

 private:
  std::optional<RawResponse> Read(int timeout_ms, bool with_body);
  // Reads into buffer_; false on timeout, EOF or error.
  bool Fill(int timeout_ms);

  int fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
};

}  // namespace ledgerflow::testing
