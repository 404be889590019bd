#include "api/audit_routes.h"

#include "api/log.h"

#include <chrono>

#include "api/raw_stream.h"
#include "api/request_parsing.h"
#include "core/access.h"
#include "core/time_format.h"
#include "events/codec.h"

namespace ledgerflow::api {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Method;

constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;
constexpr auto kHeartbeat = std::chrono::seconds(15);
constexpr size_t kExportChunkBytes = 64 * 1024;

StatusOr<std::optional<int64_t>> QueryTime(const ApiRequest& req, const char* name) {
  auto v = req.query(name);
  if (!v) return std::optional<int64_t>();
  auto ms = core::ParseRfc3339(*v);
  if (!ms.ok()) {
    return InvalidArgument(std::string("'") + name + "' must be an RFC 3339 timestamp")
        .WithReason("invalid_parameter");
  }
  return std::optional<int64_t>(*ms);
}

StatusOr<service::AuditQuery> ParseQuery(const ApiRequest& req) {
  service::AuditQuery q;
  q.stream = req.query("stream");
  q.type = req.query("type");
  q.actor = req.query("actor");
  auto since = QueryTime(req, "since");
  if (!since.ok()) return since.status();
  auto until = QueryTime(req, "until");
  if (!until.ok()) return until.status();
  q.since_ms = *since;
  q.until_ms = *until;
  auto after = QueryInt(req, "after", 0, 0, INT64_MAX);
  if (!after.ok()) return after.status();
  q.after = static_cast<events::Position>(*after);
  auto limit = QueryInt(req, "limit", kDefaultLimit, 1, kMaxLimit);
  if (!limit.ok()) return limit.status();
  q.limit = static_cast<size_t>(*limit);
  return q;
}


void Export(service::AuditService& audit, StreamWorkers& streams, const service::Caller& caller,
            service::AuditQuery query, ResponderPtr out) {
  // Finite: a drain lets an export finish within the grace period.
  Status started = streams.Start(caller.org, StreamKind::kFinite,
                                 [&audit, caller, query, out](const std::atomic<bool>& stop) {
    auto stream = RawStream::Start(*out, 200, "OK", "application/x-ndjson",
                                   StreamKind::kFinite, stop);
    if (!stream) return;
    std::string chunk;
    bool open = true;
    bool cut = false;
    Status s = audit.Export(caller, query, [&](const events::Event& e) {
      if (stop.load()) {
        cut = true;
        return false;
      }
      chunk += events::EncodeEvent(e);
      chunk += '\n';
      if (chunk.size() >= kExportChunkBytes) {
        open = stream->Write(chunk);
        chunk.clear();
      }
      return open;
    }, &stop);
    if (s.reason() == "shutting_down") {
      cut = true;
      s = Status::Ok();
    }
    if (open && !chunk.empty() && !cut) open = stream->Write(chunk);
    // A write the stop interrupted is a cut too (the export was whole so far).
    if (!open && stop.load()) cut = true;
    // A failure or a stop mid-stream cannot change the status line any more: the body
    // is left without its last chunk, so the client sees an incomplete export (never
    // one that looks whole), and the log says why.
    if (!s.ok()) {
      log::Write(log::Level::kError, "export_failed",
                 {{"request_id", out->request_id()}, {"cause", s.ToString()}});
    } else if (cut) {
      log::Write(log::Level::kWarn, "export_cut",
                 {{"request_id", out->request_id()},
                  {"cause", "the server stopped before the export was sent whole"}});
    }
    if (open && s.ok() && !cut) stream->End();
  });
  if (!started.ok()) out->SendError(started);
}

void ListEvents(service::AuditService& audit, StreamWorkers& streams, ApiRequest& req,
                ResponderPtr out) {
  auto query = ParseQuery(req);
  if (!query.ok()) return out->SendError(query.status());
  auto format = req.query("format");
  if (format && *format == "ndjson") return Export(audit, streams, req.caller, *query, out);
  if (format && *format != "json") {
    return out->SendError(
        InvalidArgument("'format' must be json or ndjson").WithReason("invalid_parameter"));
  }
  auto page = audit.Events(req.caller, *query);
  if (!page.ok()) return out->SendError(page.status());
  // The stored lines are embedded as they are, so clients can re-hash them.
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < page->events.size(); ++i) {
    if (i) body += ',';
    body += events::EncodeEvent(page->events[i]);
  }
  body += "],\"next_after\":";
  body += page->next_after ? std::to_string(*page->next_after) : "null";
  body += '}';
  out->SendJsonText(Code::Ok, body);
}

void VerifyChain(service::AuditService& audit, StreamWorkers&, ApiRequest& req,
                 ResponderPtr out) {
  auto report = audit.Verify(req.caller);
  if (!report.ok()) return out->SendError(report.status());
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("ok", report->ok, a);
  doc.AddMember("checked", json::Value(report->checked), a);
  doc.AddMember("head_position", json::Value(report->head_position), a);
  doc.AddMember("head_hash", json::String(report->head_hash, a), a);
  if (!report->ok) doc.AddMember("error", json::String(report->error, a), a);
  out->SendJson(Code::Ok, doc);
}

void EventFeed(service::AuditService& audit, const service::KeyService& keys,
               StreamWorkers& streams, ApiRequest& req, ResponderPtr out) {
  std::optional<std::string> resume = req.header("Last-Event-ID");
  const char* resume_source = "Last-Event-ID";
  if (!resume) {
    resume = req.query("after");
    resume_source = "after";
  }
  events::Position after = 0;
  if (resume) {
    auto n = ParseInt(*resume, resume_source, 0, INT64_MAX);
    if (!n.ok()) return out->SendError(n.status());
    after = static_cast<events::Position>(*n);
  }
  std::string org = req.caller.org;
  std::string key_id = req.caller.actor;
  Status started = streams.Start(org, StreamKind::kEndless,
                                 [&audit, &keys, org, key_id, after,
                                  out](const std::atomic<bool>& stop) {
    auto stream = RawStream::Start(*out, 200, "OK", "text/event-stream",
                                   StreamKind::kEndless, stop);
    if (!stream) return;
    bool open = stream->Write(": ledgerflow event feed\n\n");
    if (!open) return;
    // The key is checked again before everything sent: a revoked key reads no more,
    // its own revocation included. The feed can read that event before the read
    // models have applied it, so the event itself counts too.
    bool revoked = false;
    auto authorized = [&] {
      revoked = revoked || !keys.IsActive(key_id);
      return !revoked;
    };
    const std::string key_stream = core::KeyStream(key_id);
    Status s = audit.Follow(
        org, after,
        [&](const events::Event& e) {
          if (e.type == core::kKeyRevoked && e.stream == key_stream) revoked = true;
          return authorized() &&
                 stream->Write("id: " + std::to_string(e.position) + "\nevent: " + e.type +
                               "\ndata: " + events::EncodeEvent(e) + "\n\n");
        },
        [&] { return authorized() && stream->Write(": ping\n\n"); },
        [&] { return !stream->ClientGone(); }, stop, kHeartbeat);
    if (revoked) {
      stream->Write("event: error\ndata: the API key of this feed was revoked\n\n");
    } else if (stop.load()) {
      stream->Write("event: shutdown\ndata: the server is shutting down; reconnect with "
                    "Last-Event-ID\n\n");
    } else if (!s.ok()) {
      stream->Write("event: error\ndata: " + s.message() + "\n\n");
    }
    stream->End();
  });
  if (!started.ok()) out->SendError(started);
}

}  // namespace

void AddAuditRoutes(Router& router, service::AuditService& audit,
                    const service::KeyService& keys, StreamWorkers& streams) {
  using Handler = void (*)(service::AuditService&, StreamWorkers&, ApiRequest&, ResponderPtr);
  auto bind = [&audit, &streams](Handler fn) {
    return [&audit, &streams, fn](ApiRequest& req, ResponderPtr out) {
      fn(audit, streams, req, std::move(out));
    };
  };
  auto feed = [&audit, &keys, &streams](ApiRequest& req, ResponderPtr out) {
    EventFeed(audit, keys, streams, req, std::move(out));
  };
  router.Add({Method::Get, "/api/audit/events", core::Role::kViewer, bind(ListEvents),
              {.summary = "The organisation's events with their hashes",
               .tag = "Audit",
               .operation_id = "listAuditEvents",
               .parameters = {"AuditStream", "AuditType", "AuditActor", "Since", "Until",
                              "After", "AuditLimit", "AuditFormat"},
               .responses = {{.content = {{.schema = "AuditEventPage"},
                                          {.type = "application/x-ndjson",
                                           .schema = "NdjsonLine"}},
                              .description = "A page (format=json), or with format=ndjson "
                                             "every matching event, one JSON object per "
                                             "line, as stored"}},
               .errors = {503},
               .description = "Pages with a cursor: pass next_after as ?after= until it "
                              "is null."}});
  router.Add({Method::Get, "/api/audit/verify", core::Role::kViewer, bind(VerifyChain),
              {.summary = "Re-check the organisation's hash chain",
               .tag = "Audit",
               .operation_id = "verifyChain",
               .responses = {{.content = {{.schema = "ChainReport"}}}}}});
  router.Add({Method::Get, "/api/events/stream", core::Role::kViewer, feed,
              {.summary = "The organisation's log as Server-Sent Events",
               .tag = "Audit",
               .operation_id = "streamEvents",
               .parameters = {"LastEventId", "FeedAfter"},
               .responses = {{.content = {{.type = "text/event-stream",
                                           .schema = "EventStreamText"}}}},
               .errors = {503},
               .description = "Past events first, then live ones; resumable with "
                              "Last-Event-ID."}});
}

}  // namespace ledgerflow::api
