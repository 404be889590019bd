#include "api/responder.h"

#include <unistd.h>

#include <cstdio>

#include <pistache/peer.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.String(status.reason().c_str());
  w.Key("message");
  w.String(status.message().c_str());
  w.Key("details");
  w.StartArray();
  for (const auto& d : status.details()) w.String(d.c_str());
  w.EndArray();
  w.Key("request_id");
  w.String(request_id.data(), static_cast<rapidjson::SizeType>(request_id.size()));
  w.EndObject();
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

namespace {

// Parsed once: MediaType::fromString per response showed up in GET profiles.
const Pistache::Http::Mime::MediaType& JsonMediaType() {
  static const Pistache::Http::Mime::MediaType json = MIME(Application, Json);
  return json;
}

}  // namespace

void Responder::Finish(Code code, const std::string& body,
                       const Pistache::Http::Mime::MediaType& mime) {
  auto& headers = writer_.headers();
  headers.add(std::make_shared<NamedHeader>("X-Request-Id", request_id_));
  for (auto& [name, value] : extra_headers_) {
    headers.add(std::make_shared<NamedHeader>(name, value));
  }
  try {
    writer_.send(code, body, mime);
  } catch (const std::exception& e) {
    // The client went away; nothing left to answer.
    std::fprintf(stderr, "response not sent (%s): %s\n", request_id_.c_str(), e.what());
  }
}

int Responder::DetachSocket() {
  if (!Claim()) return -1;
  try {
    auto peer = writer_.peer();
    if (!peer) return -1;
    return ::dup(peer->fd());
  } catch (const std::exception&) {
    return -1;  // the peer is gone
  }
}

void Responder::SendJson(Code code, const json::Value& body) {
  if (!Claim()) return;
  Finish(code, json::Serialize(body), JsonMediaType());
}

void Responder::SendJsonText(Code code, const std::string& body) {
  if (!Claim()) return;
  Finish(code, body, JsonMediaType());
}

void Responder::SendText(Code code, const std::string& body, const std::string& mime) {
  if (!Claim()) return;
  Finish(code, body, Pistache::Http::Mime::MediaType::fromString(mime));
}

void Responder::SendError(const Status& status, std::optional<Code> override_code) {
  if (!Claim()) return;
  Code code = override_code.value_or(HttpCodeOf(status));
  if (code == Code::Internal_Server_Error) {
    std::fprintf(stderr, "internal error (%s): %s\n", request_id_.c_str(),
                 status.ToString().c_str());
  }
  Finish(code, ErrorEnvelope(status, request_id_), JsonMediaType());
}

}  // namespace ledgerflow::api
