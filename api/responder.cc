#include "api/responder.h"

#include "api/http_metrics.h"
#include "api/log.h"

#include <cstdio>

#include <pistache/http.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/utf8.h"

namespace ledgerflow::api {

using Pistache::Http::Code;

Code HttpCodeOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return Code::Ok;
    case StatusCode::kInvalidArgument: return Code::Bad_Request;
    case StatusCode::kUnauthenticated: return Code::Unauthorized;
    case StatusCode::kPermissionDenied: return Code::Forbidden;
    case StatusCode::kNotFound: return Code::Not_Found;
    case StatusCode::kConflict: return Code::Conflict;
    case StatusCode::kTooLarge: return Code::Request_Entity_Too_Large;
    case StatusCode::kUnavailable: return Code::Service_Unavailable;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal: return Code::Internal_Server_Error;
  }
  return Code::Internal_Server_Error;
}

std::string ErrorEnvelope(const Status& status, std::string_view request_id) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  // Messages quote what the client sent (a path, a query value, perhaps cut short),
  // which need not be UTF-8; the answer must be.
  auto text = [&w](std::string_view s) {
    const std::string valid = utf8::Sanitize(s);
    w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
  };
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  text(status.reason());
  w.Key("message");
  text(status.message());
  w.Key("details");
  w.StartArray();
  for (const auto& d : status.details()) text(d);
  w.EndArray();
  w.Key("request_id");
  w.String(request_id.data(), static_cast<rapidjson::SizeType>(request_id.size()));
  w.EndObject();
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

namespace {

constexpr std::string_view kJson = "application/json";

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ");
  const size_t start = out.size();
  out.append(value);
  // A line break in a value would end the header early (and let it forge others).
  for (size_t i = start; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
  out.append("\r\n");
}

}  // namespace

void Responder::Finish(Code code, std::string_view body, std::string_view content_type) {
  std::string out;
  out.reserve(body.size() + 192 + request_id_.size());
  out.append(Pistache::Http::versionString(version_))
      .append(" ")
      .append(std::to_string(static_cast<int>(code)))
      .append(" ")
      .append(Pistache::Http::codeString(code))
      .append("\r\n");
  // A 304 has no body, so neither its type nor its length (RFC 9110, 15.4.5).
  const bool has_body = code != Code::Not_Modified;
  if (has_body) AppendHeader(out, "Content-Type", content_type);
  AppendHeader(out, "X-Request-Id", request_id_);
  for (const auto& [name, value] : extra_headers_) AppendHeader(out, name, value);
  AppendHeader(out, "Connection", keep_alive_ ? "Keep-Alive" : "Close");
  if (has_body) AppendHeader(out, "Content-Length", std::to_string(body.size()));
  out.append("\r\n");
  if (!head_only_) out.append(body);
  const size_t bytes_out = out.size();
  connection_->Answer(std::move(out), keep_alive_);
  LogAccess(static_cast<int>(code), bytes_out, false);
}

void Responder::LogAccess(int status, size_t bytes_out, bool stream) const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - access_.started).count();
  RecordRequest(access_.route, access_.method, status, seconds, access_.bytes_in, bytes_out);
  if (!log::Enabled(log::Level::kInfo)) return;
  const double ms = seconds * 1000;
  log::Write(log::Level::kInfo, stream ? "access_stream" : "access",
             {{"request_id", request_id_},
              {"method", access_.method},
              {"route", access_.route},
              {"path", access_.path},
              {"status", int64_t{status}},
              {"duration_ms", ms},
              {"bytes_in", uint64_t{access_.bytes_in}},
              {"bytes_out", uint64_t{bytes_out}},
              {"key_id", access_.key_id},
              {"org", access_.org}});
}

void Responder::SendNotModified() {
  if (!Claim()) return;
  Finish(Code::Not_Modified, "", "");
}

Responder::~Responder() {
  if (!sent_.load()) SendError(Internal("the request was dropped without an answer"));
}

int Responder::DetachSocket() {
  if (!Claim()) return -1;
  // A stream's line is written as it starts: it may last for days.
  LogAccess(200, 0, true);
  return connection_->Detach();
}

void Responder::SendJson(Code code, const json::Value& body) {
  if (!Claim()) return;
  Finish(code, json::Serialize(body), kJson);
}

void Responder::SendJsonText(Code code, const std::string& body) {
  if (!Claim()) return;
  Finish(code, body, kJson);
}

void Responder::SendText(Code code, const std::string& body, const std::string& mime) {
  if (!Claim()) return;
  Finish(code, body, mime);
}

void Responder::SendError(const Status& status, std::optional<Code> override_code) {
  if (!Claim()) return;
  Code code = override_code.value_or(HttpCodeOf(status));
  if (code == Code::Internal_Server_Error) {
    log::Write(log::Level::kError, "internal_error",
               {{"request_id", request_id_}, {"cause", status.ToString()}});
  }
  Finish(code, ErrorEnvelope(status, request_id_), kJson);
}

}  // namespace ledgerflow::api
