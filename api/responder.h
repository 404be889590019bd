// Answers one HTTP request, from any thread, exactly once: JSON bodies, the error
// envelope, and the headers Pistache 0.0.5 would otherwise drop (ETag, X-Request-Id).
// Shared so that asynchronous command callbacks can hold it.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pistache/http.h>

#include "core/json.h"
#include "core/status.h"

namespace ledgerflow::api {

// A response header with a runtime name: Pistache drops headers added with addRaw.
class NamedHeader : public Pistache::Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  uint64_t hash() const override { return std::hash<std::string>{}(name_); }
  void parse(const std::string& data) override { value_ = data; }
  void write(std::ostream& os) const override { os << value_; }

 private:
  std::string name_;
  std::string value_;
};

// The HTTP status of a Status code (DESIGN.md's table).
Pistache::Http::Code HttpCodeOf(const Status& status);

// {"error": {"code", "message", "details", "request_id"}}
std::string ErrorEnvelope(const Status& status, std::string_view request_id);

class Responder {
 public:
  Responder(Pistache::Http::ResponseWriter writer, std::string request_id)
      : writer_(std::move(writer)), request_id_(std::move(request_id)) {}

  const std::string& request_id() const { return request_id_; }

  // Adds a header to the eventual response. Not thread-safe with Send*.
  void AddHeader(std::string name, std::string value) {
    extra_headers_.emplace_back(std::move(name), std::move(value));
  }

  void SendJson(Pistache::Http::Code code, const json::Value& body);
  void SendJsonText(Pistache::Http::Code code, const std::string& body);
  void SendText(Pistache::Http::Code code, const std::string& body, const std::string& mime);
  // The error envelope with the status's HTTP code, or `code` when given (405).
  void SendError(const Status& status, std::optional<Pistache::Http::Code> code = {});

  // Takes the connection over for a raw stream (see RawStream): returns a dup of the
  // client's socket, or -1 when this request was already answered or the client is
  // gone. Pistache writes nothing more on this request.
  int DetachSocket();

 private:
  bool Claim() { return !sent_.exchange(true); }
  void Finish(Pistache::Http::Code code, const std::string& body,
              const Pistache::Http::Mime::MediaType& mime);

  Pistache::Http::ResponseWriter writer_;
  std::string request_id_;
  std::vector<std::pair<std::string, std::string>> extra_headers_;
  std::atomic<bool> sent_{false};
};

using ResponderPtr = std::shared_ptr<Responder>;

}  // namespace ledgerflow::api
