// Incremental HTTP/1.1 request framing over Debian's http-parser (nodejs/http-parser
// 2.9), with the checks RFC 9112 asks of a server that it leaves out: CRLF line
// endings only (no bare LF, no obs-fold), header names that are tokens, no control
// characters in values, one Host on HTTP/1.1, Transfer-Encoding exactly "chunked",
// a known version, and limits on the request line, the header block and the body.
// Bytes are fed as they arrive, split anywhere; parsing is linear in them. One
// instance per connection; not thread-safe. No I/O.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "api/http_request.h"

namespace ledgerflow::api {

struct FramingLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_request_line_bytes = 8 * 1024;   // 414 beyond
  size_t max_header_bytes = 64 * 1024;        // 431 beyond (the whole header block)
};

// Why a request was refused: the HTTP status, the error code and a message for the
// client. The connection must be closed after the answer.
struct FramingRefusal {
  int status = 400;
  std::string code;
  std::string message;
};

class RequestFraming {
 public:
  explicit RequestFraming(FramingLimits limits);
  RequestFraming(const RequestFraming&) = delete;
  RequestFraming& operator=(const RequestFraming&) = delete;

  enum class Outcome {
    kNeedMore,      // every byte was consumed; the request is not complete yet
    kRequestReady,  // a whole request was read; take it, bytes after it are the next one's
    kRefused,       // the request is refused (see refusal()); read no more of this connection
  };
  struct Result {
    Outcome outcome;
    size_t consumed;  // bytes of `data` used; the rest belong to the next request
  };

  // Feeds bytes that follow those fed before. Stops after one complete request.
  Result Feed(std::string_view data);

  // The request after kRequestReady; the framing then reads the next one.
  HttpRequest TakeRequest();
  const FramingRefusal& refusal() const { return refusal_; }

  // True once the current request's header block is complete and it asked for
  // "Expect: 100-continue" (and has a body still to come); cleared by the call.
  bool TakeContinueRequest();
  // True while a request has begun but is not complete.
  bool mid_request() const { return started_; }
  // Memory held for the request being read.
  size_t buffered_bytes() const { return request_.body.capacity(); }
  // Frees the request being read (the connection is going away).
  void DropRequest() { request_ = HttpRequest{}; }

 private:
  // The byte-level checks of the header block; returns how many bytes of `data`
  // belong to it (all, or up to and including its final CRLF CRLF), or refuses.
  size_t ScanHeaderBytes(std::string_view data);
  // The same for a chunked body's framing (chunk-size lines, the CRLF after each
  // chunk's data, the trailer section): CRLF only, as RFC 9112 section 7.1 writes it.
  // Returns how many bytes of `data` belong to the body (all, or through its end).
  size_t ScanChunkedBytes(std::string_view data);
  bool Refuse(int status, std::string code, std::string message);
  int OnHeadersComplete();
  void StartMessage();

  static int OnMessageBegin(http_parser* p);
  static int OnUrl(http_parser* p, const char* at, size_t n);
  static int OnHeaderField(http_parser* p, const char* at, size_t n);
  static int OnHeaderValue(http_parser* p, const char* at, size_t n);
  static int OnHeadersCompleteThunk(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t n);
  static int OnMessageComplete(http_parser* p);

  const FramingLimits limits_;
  http_parser parser_;
  http_parser_settings settings_;

  HttpRequest request_;
  FramingRefusal refusal_;
  bool refused_ = false;
  bool started_ = false;
  bool complete_ = false;
  bool continue_requested_ = false;

  // Header-block scanner state.
  bool in_header_block_ = true;
  bool saw_cr_ = false;
  bool at_line_start_ = true;
  bool request_line_seen_ = false;  // the request line is over
  size_t line_bytes_ = 0;
  size_t header_block_bytes_ = 0;
  int leading_empty_lines_ = 0;

  // Chunked-body scanner state.
  enum class ChunkState { kSizeStart, kSize, kExtension, kSizeLf, kData, kDataCr, kDataLf,
                          kTrailerStart, kTrailerLine, kTrailerLf, kEndLf };
  bool chunked_body_ = false;
  ChunkState chunk_state_ = ChunkState::kSizeStart;
  uint64_t chunk_left_ = 0;
  size_t chunk_framing_bytes_ = 0;  // size lines, extensions and trailers so far

  // Header assembly: a field's name and value may arrive in several pieces.
  bool in_value_ = false;
  bool headers_done_ = false;  // later fields are trailers, which are ignored
};

}  // namespace ledgerflow::api
