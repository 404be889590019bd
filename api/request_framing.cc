#include "api/request_framing.h"

#include <strings.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>

namespace ledgerflow::api {
namespace {

// RFC 9110 tchar.
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsControl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<Pistache::Http::Method> MethodOf(unsigned method) {
  using M = Pistache::Http::Method;
  switch (static_cast<http_method>(method)) {
    case HTTP_GET: return M::Get;
    case HTTP_POST: return M::Post;
    case HTTP_PUT: return M::Put;
    case HTTP_PATCH: return M::Patch;
    case HTTP_DELETE: return M::Delete;
    case HTTP_HEAD: return M::Head;
    case HTTP_OPTIONS: return M::Options;
    case HTTP_TRACE: return M::Trace;
    case HTTP_CONNECT: return M::Connect;
    default: return std::nullopt;
  }
}

// Empty lines tolerated before a request line (RFC 9112 asks for at least one).
constexpr int kMaxLeadingEmptyLines = 8;

RequestFraming* Self(http_parser* p) { return static_cast<RequestFraming*>(p->data); }

}  // namespace

RequestFraming::RequestFraming(FramingLimits limits) : limits_(limits) {
  // http-parser's own header limit is process-wide (80 KiB by default); the limits
  // that answer 414 and 431 are ours (ScanHeaderBytes), so its is set above any we
  // accept. It still bounds a chunked body's trailers, which are dropped.
  static std::once_flag once;
  std::call_once(once, [] { http_parser_set_max_header_size(20u << 20); });
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &RequestFraming::OnMessageBegin;
  settings_.on_url = &RequestFraming::OnUrl;
  settings_.on_header_field = &RequestFraming::OnHeaderField;
  settings_.on_header_value = &RequestFraming::OnHeaderValue;
  settings_.on_headers_complete = &RequestFraming::OnHeadersCompleteThunk;
  settings_.on_body = &RequestFraming::OnBody;
  settings_.on_message_complete = &RequestFraming::OnMessageComplete;
}

bool RequestFraming::Refuse(int status, std::string code, std::string message) {
  if (!refused_) {
    refused_ = true;
    refusal_ = FramingRefusal{status, std::move(code), std::move(message)};
  }
  return false;
}

size_t RequestFraming::ScanHeaderBytes(std::string_view data) {
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (saw_cr_) {
      saw_cr_ = false;
      if (c != '\n') {
        Refuse(400, "bad_request", "Malformed HTTP request: CR not followed by LF");
        return i;
      }
      if (line_bytes_ == 0) {
        // An empty line before the request line is tolerated (RFC 9112, section 2.2);
        // after it, it ends the header block.
        if (!request_line_seen_) {
          if (++leading_empty_lines_ > kMaxLeadingEmptyLines) {
            Refuse(400, "bad_request", "Malformed HTTP request: empty lines instead of a request");
            return i;
          }
          continue;
        }
        in_header_block_ = false;
        return i + 1;
      }
      request_line_seen_ = true;
      line_bytes_ = 0;
      at_line_start_ = true;
      continue;
    }
    if (c == '\r') {
      saw_cr_ = true;
      continue;
    }
    if (c == '\n') {
      Refuse(400, "bad_request", "Malformed HTTP request: a line ends in LF without CR");
      return i;
    }
    if (at_line_start_ && request_line_seen_ && (c == ' ' || c == '\t')) {
      Refuse(400, "bad_request",
             "Malformed HTTP request: a header line is folded (obs-fold is not accepted)");
      return i;
    }
    at_line_start_ = false;
    ++line_bytes_;
    if (!request_line_seen_) {
      if (line_bytes_ > limits_.max_request_line_bytes) {
        Refuse(414, "uri_too_long",
               "The request line is longer than " +
                   std::to_string(limits_.max_request_line_bytes) + " bytes");
        return i;
      }
    } else if (++header_block_bytes_ > limits_.max_header_bytes) {
      Refuse(431, "headers_too_large",
             "The request's headers are larger than " +
                 std::to_string(limits_.max_header_bytes) + " bytes");
      return i;
    }
  }
  return data.size();
}

size_t RequestFraming::ScanChunkedBytes(std::string_view data) {
  const auto bad = [this](const char* what) {
    Refuse(400, "bad_request", std::string("Malformed chunked body: ") + what);
  };
  for (size_t i = 0; i < data.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(data[i]);
    if (chunk_state_ != ChunkState::kData) {
      // Framing bytes (size lines, trailers) are bounded like a header block.
      if (++chunk_framing_bytes_ > limits_.max_header_bytes + limits_.max_request_line_bytes) {
        Refuse(431, "headers_too_large",
               "The chunked body's size lines and trailers are larger than " +
                   std::to_string(limits_.max_header_bytes) + " bytes");
        return i;
      }
    }
    switch (chunk_state_) {
      case ChunkState::kSizeStart:
      case ChunkState::kSize: {
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') digit = (c | 0x20) - 'a' + 10;
        if (digit >= 0) {
          if (chunk_left_ > (UINT64_MAX >> 4)) return bad("the chunk size is too large"), i;
          chunk_left_ = chunk_left_ * 16 + static_cast<uint64_t>(digit);
          chunk_state_ = ChunkState::kSize;
        } else if (chunk_state_ == ChunkState::kSizeStart) {
          return bad("a chunk size is not hexadecimal"), i;
        } else if (c == ';' || c == ' ' || c == '\t') {
          chunk_state_ = ChunkState::kExtension;
        } else if (c == '\r') {
          chunk_state_ = ChunkState::kSizeLf;
        } else {
          return bad("a chunk size is not hexadecimal"), i;
        }
        break;
      }
      case ChunkState::kExtension:
        if (c == '\r') chunk_state_ = ChunkState::kSizeLf;
        else if (c == '\n' || IsControl(c)) return bad("a chunk extension holds a control character"), i;
        break;
      case ChunkState::kSizeLf:
        if (c != '\n') return bad("a chunk-size line does not end in CRLF"), i;
        chunk_state_ = chunk_left_ == 0 ? ChunkState::kTrailerStart : ChunkState::kData;
        break;
      case ChunkState::kData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, data.size() - i));
        chunk_left_ -= take;
        i += take - 1;
        if (chunk_left_ == 0) chunk_state_ = ChunkState::kDataCr;
        break;
      }
      case ChunkState::kDataCr:
        if (c != '\r') return bad("a chunk's data is not followed by CRLF"), i;
        chunk_state_ = ChunkState::kDataLf;
        break;
      case ChunkState::kDataLf:
        if (c != '\n') return bad("a chunk's data is not followed by CRLF"), i;
        chunk_state_ = ChunkState::kSizeStart;
        break;
      case ChunkState::kTrailerStart:
        if (c == '\r') chunk_state_ = ChunkState::kEndLf;
        else if (c == '\n' || c == ' ' || c == '\t') return bad("a trailer line is malformed"), i;
        else chunk_state_ = ChunkState::kTrailerLine;
        break;
      case ChunkState::kTrailerLine:
        if (c == '\r') chunk_state_ = ChunkState::kTrailerLf;
        else if (c == '\n' || IsControl(c)) return bad("a trailer line is malformed"), i;
        break;
      case ChunkState::kTrailerLf:
        if (c != '\n') return bad("a trailer line does not end in CRLF"), i;
        chunk_state_ = ChunkState::kTrailerStart;
        break;
      case ChunkState::kEndLf:
        if (c != '\n') return bad("the chunked body does not end in CRLF"), i;
        chunked_body_ = false;  // the body is over
        return i + 1;
    }
  }
  return data.size();
}

RequestFraming::Result RequestFraming::Feed(std::string_view data) {
  if (refused_) return {Outcome::kRefused, 0};
  size_t offset = 0;
  while (offset < data.size()) {
    std::string_view chunk = data.substr(offset);
    if (in_header_block_) {
      const size_t n = ScanHeaderBytes(chunk);
      if (refused_) return {Outcome::kRefused, offset + n};
      chunk = chunk.substr(0, n);
    } else if (chunked_body_) {
      const size_t n = ScanChunkedBytes(chunk);
      if (refused_) return {Outcome::kRefused, offset + n};
      chunk = chunk.substr(0, n);
    }
    const size_t parsed = http_parser_execute(&parser_, &settings_, chunk.data(), chunk.size());
    offset += parsed;
    if (refused_) return {Outcome::kRefused, offset};
    const auto err = HTTP_PARSER_ERRNO(&parser_);
    if (err == HPE_PAUSED) {  // paused by OnMessageComplete: one request is whole
      http_parser_pause(&parser_, 0);
      return {Outcome::kRequestReady, offset};
    }
    if (err != HPE_OK) {
      Refuse(400, "bad_request",
             std::string("Malformed HTTP request: ") + http_errno_description(err));
      return {Outcome::kRefused, offset};
    }
    if (parsed < chunk.size()) {
      Refuse(400, "bad_request", "Malformed HTTP request");
      return {Outcome::kRefused, offset};
    }
  }
  return {Outcome::kNeedMore, offset};
}

HttpRequest RequestFraming::TakeRequest() {
  complete_ = false;
  HttpRequest out = std::move(request_);
  request_ = HttpRequest{};
  return out;
}

bool RequestFraming::TakeContinueRequest() {
  const bool out = continue_requested_;
  continue_requested_ = false;
  return out;
}

void RequestFraming::StartMessage() {
  request_ = HttpRequest{};
  started_ = true;
  complete_ = false;
  continue_requested_ = false;
  in_value_ = false;
  headers_done_ = false;
}

int RequestFraming::OnMessageBegin(http_parser* p) {
  Self(p)->StartMessage();
  return 0;
}

int RequestFraming::OnUrl(http_parser* p, const char* at, size_t n) {
  Self(p)->request_.target.append(at, n);
  return 0;
}

int RequestFraming::OnHeaderField(http_parser* p, const char* at, size_t n) {
  RequestFraming* self = Self(p);
  if (self->headers_done_) return 0;  // a trailer: not part of the request's headers
  auto& headers = self->request_.headers;
  if (self->in_value_ || headers.empty()) {
    headers.emplace_back();
    self->in_value_ = false;
  }
  headers.back().first.append(at, n);
  return 0;
}

int RequestFraming::OnHeaderValue(http_parser* p, const char* at, size_t n) {
  RequestFraming* self = Self(p);
  if (self->headers_done_) return 0;
  self->in_value_ = true;
  self->request_.headers.back().second.append(at, n);
  return 0;
}

int RequestFraming::OnHeadersCompleteThunk(http_parser* p) { return Self(p)->OnHeadersComplete(); }

int RequestFraming::OnHeadersComplete() {
  headers_done_ = true;
  in_header_block_ = false;
  HttpRequest& r = request_;
  const auto bad = [this](std::string message) {
    Refuse(400, "bad_request", "Malformed HTTP request: " + std::move(message));
    return -1;
  };
  if (parser_.http_major != 1 || parser_.http_minor > 1) {
    if (parser_.http_major == 0 && parser_.http_minor == 9) {
      return bad("the request line has no HTTP version");
    }
    return bad("HTTP/" + std::to_string(parser_.http_major) + "." +
               std::to_string(parser_.http_minor) + " is not supported (HTTP/1.0 and 1.1 are)");
  }
  r.version = parser_.http_minor == 1 ? Pistache::Http::Version::Http11
                                      : Pistache::Http::Version::Http10;
  r.method_name = http_method_str(static_cast<http_method>(parser_.method));
  r.method = MethodOf(parser_.method);

  int hosts = 0;
  int transfer_encodings = 0;
  const std::string* transfer_encoding = nullptr;
  const std::string* expect = nullptr;
  for (auto& [name, value] : r.headers) {
    // Optional whitespace around a value is not part of it (RFC 9110, section 5.5);
    // http-parser drops the leading part.
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    if (name.empty()) return bad("a header has an empty name");
    for (unsigned char c : name) {
      if (!IsTokenChar(c)) return bad("the header name '" + name + "' is not a token");
    }
    for (unsigned char c : value) {
      if (IsControl(c)) return bad("the header '" + name + "' holds a control character");
    }
    if (EqualsIgnoreCase(name, "host")) ++hosts;
    if (EqualsIgnoreCase(name, "transfer-encoding")) {
      ++transfer_encodings;
      transfer_encoding = &value;
    }
    if (EqualsIgnoreCase(name, "expect")) expect = &value;
  }
  const bool http11 = r.version == Pistache::Http::Version::Http11;
  if (hosts > 1) return bad("more than one Host header");
  if (hosts == 0 && http11) return bad("an HTTP/1.1 request needs a Host header");
  if (transfer_encodings > 0) {
    if (!http11) return bad("Transfer-Encoding is not allowed in an HTTP/1.0 request");
    if (transfer_encodings > 1 || !EqualsIgnoreCase(Trim(*transfer_encoding), "chunked")) {
      return bad("Transfer-Encoding must be exactly 'chunked'");
    }
  }
  const bool has_length = (parser_.flags & F_CONTENTLENGTH) != 0;
  if (has_length && parser_.content_length > limits_.max_body_bytes) {
    Refuse(413, "payload_too_large",
           "Request body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
    return -1;
  }
  const bool body_follows =
      (parser_.flags & F_CHUNKED) != 0 || (has_length && parser_.content_length > 0);
  if (expect != nullptr && http11) {
    if (!EqualsIgnoreCase(Trim(*expect), "100-continue")) {
      Refuse(417, "expectation_failed", "Only 'Expect: 100-continue' is understood");
      return -1;
    }
    continue_requested_ = body_follows;
  }
  chunked_body_ = (parser_.flags & F_CHUNKED) != 0;
  chunk_state_ = ChunkState::kSizeStart;
  chunk_left_ = 0;
  chunk_framing_bytes_ = 0;
  if (has_length) r.body.reserve(std::min<uint64_t>(parser_.content_length, 64 * 1024));

  // The target: origin form ("/path?query"), absolute form ("http://host/path"),
  // authority form for CONNECT, or "*" for OPTIONS.
  const std::string& target = r.target;
  if (!target.empty() && target.front() == '/') {
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
  } else if (target == "*" && r.method == Pistache::Http::Method::Options) {
    r.path = target;
  } else {
    http_parser_url url;
    http_parser_url_init(&url);
    const bool connect = r.method == Pistache::Http::Method::Connect;
    if (http_parser_parse_url(target.data(), target.size(), connect ? 1 : 0, &url) != 0) {
      return bad("the request target '" + target + "' is not a path or an absolute URL");
    }
    if (!connect) {
      if ((url.field_set & (1 << UF_SCHEMA)) == 0) {
        return bad("the request target '" + target + "' is not a path or an absolute URL");
      }
      const std::string_view scheme(target.data() + url.field_data[UF_SCHEMA].off,
                                    url.field_data[UF_SCHEMA].len);
      if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) {
        return bad("the request target's scheme must be http or https");
      }
      if (url.field_set & (1 << UF_PATH)) {
        r.path = target.substr(url.field_data[UF_PATH].off, url.field_data[UF_PATH].len);
      } else {
        r.path = "/";
      }
      if (url.field_set & (1 << UF_QUERY)) {
        r.query = target.substr(url.field_data[UF_QUERY].off, url.field_data[UF_QUERY].len);
      }
    }
  }
  // A request that would switch protocols (Upgrade, CONNECT) is answered as HTTP,
  // and then the connection is closed: nothing after it is read as a request.
  r.keep_alive = http_should_keep_alive(&parser_) != 0 && parser_.upgrade == 0;
  return 0;
}

int RequestFraming::OnBody(http_parser* p, const char* at, size_t n) {
  RequestFraming* self = Self(p);
  std::string& body = self->request_.body;
  if (body.size() + n > self->limits_.max_body_bytes) {
    self->Refuse(413, "payload_too_large",
                 "Request body is larger than " + std::to_string(self->limits_.max_body_bytes) +
                     " bytes");
    return -1;
  }
  body.append(at, n);
  return 0;
}

int RequestFraming::OnMessageComplete(http_parser* p) {
  RequestFraming* self = Self(p);
  self->complete_ = true;
  self->started_ = false;
  // The next request's header block starts after this byte.
  self->in_header_block_ = true;
  self->saw_cr_ = false;
  self->at_line_start_ = true;
  self->request_line_seen_ = false;
  self->line_bytes_ = 0;
  self->header_block_bytes_ = 0;
  self->leading_empty_lines_ = 0;
  self->chunked_body_ = false;
  http_parser_pause(p, 1);
  return 0;
}

}  // namespace ledgerflow::api
