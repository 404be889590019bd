#include "service/audit_service.h"

#include "events/chain.h"

namespace ledgerflow::service {

bool MatchesAuditQuery(const events::Event& e, const AuditQuery& q) {
  if (q.stream && e.stream != *q.stream) return false;
  if (q.type && e.type != *q.type) return false;
  if (q.actor && e.actor != *q.actor) return false;
  if (q.since_ms && e.at_ms < *q.since_ms) return false;
  if (q.until_ms && e.at_ms > *q.until_ms) return false;
  return true;
}

namespace {

Status Stopped() {
  return Status(StatusCode::kUnavailable, "The server is stopping").WithReason("shutting_down");
}

}  // namespace

Status AuditService::Export(const Caller& caller, const AuditQuery& query,
                            const std::function<bool(const events::Event&)>& sink,
                            const std::atomic<bool>* stop) const {
  if (query.stream) return ExportStream(caller, query, sink, stop);
  Status read_status;
  bool stopped = false;
  Status scan = index_.ForEachPosition(caller.org, query.after, [&](events::Position p) {
    if (stop && stop->load()) {
      stopped = true;
      return false;
    }
    auto event = store_.ReadAt(p);
    if (!event.ok()) {
      read_status = event.status();
      return false;
    }
    if (query.until_ms && event->at_ms > *query.until_ms) return false;  // `at` never decreases
    if (!MatchesAuditQuery(*event, query)) return true;
    return sink(*event);
  });
  LF_RETURN_IF_ERROR(scan);
  LF_RETURN_IF_ERROR(read_status);
  return stopped ? Stopped() : Status::Ok();
}

Status AuditService::ExportStream(const Caller& caller, const AuditQuery& query,
                                  const std::function<bool(const events::Event&)>& sink,
                                  const std::atomic<bool>* stop) const {
  // Through the store's stream index, a page at a time: the cost follows the stream's
  // length, not the organisation's log (a run's trace among millions of events).
  constexpr size_t kPage = 256;
  events::Version from = 1;
  // A cursor from a page of this stream names one of its events: go on after it.
  if (query.after > 0) {
    auto cursor = store_.ReadAt(query.after);
    if (cursor.ok() && cursor->stream == *query.stream) from = cursor->stream_version + 1;
  }
  for (;;) {
    auto page = store_.ReadStream(*query.stream, from, kPage);
    LF_RETURN_IF_ERROR(page.status());
    for (const events::Event& e : *page) {
      if (stop && stop->load()) return Stopped();
      // Stream ids are unique across organisations; another org's is not there for
      // this caller (the same answer as an unknown stream: no events).
      if (e.org != caller.org) return Status::Ok();
      if (e.position <= query.after) continue;
      if (query.until_ms && e.at_ms > *query.until_ms) return Status::Ok();
      if (!MatchesAuditQuery(e, query)) continue;
      if (!sink(e)) return Status::Ok();
    }
    if (page->size() < kPage) return Status::Ok();
    from = page->back().stream_version + 1;
  }
}

StatusOr<AuditPage> AuditService::Events(const Caller& caller, const AuditQuery& query) const {
  AuditPage page;
  bool more = false;
  Status s = Export(caller, query, [&](const events::Event& e) {
    if (page.events.size() == query.limit) {
      more = true;
      return false;
    }
    page.events.push_back(e);
    return true;
  });
  LF_RETURN_IF_ERROR(s);
  if (more && !page.events.empty()) page.next_after = page.events.back().position;
  return page;
}

StatusOr<ChainReport> AuditService::Verify(const Caller& caller) const {
  events::ChainVerifier verifier;
  ChainReport report;
  Status status;
  Status scan = index_.ForEachPosition(caller.org, 0, [&](events::Position p) {
    auto event = store_.ReadAt(p);
    if (!event.ok()) {
      status = event.status();
      return false;
    }
    status = verifier.Feed(*event);
    return status.ok();
  });
  LF_RETURN_IF_ERROR(scan);
  report.checked = verifier.checked();
  if (!status.ok()) {
    report.ok = false;
    report.error = status.message();
  }
  if (auto head = verifier.head(caller.org)) {
    report.head_position = head->position;
    report.head_hash = head->hash;
  }
  return report;
}

Status AuditService::Follow(std::string_view org, events::Position after,
                            const std::function<bool(const events::Event&)>& sink,
                            const std::function<bool()>& idle,
                            const std::function<bool()>& alive, const std::atomic<bool>& stop,
                            std::chrono::milliseconds heartbeat) const {
  // Catch up through the org index as far as it is applied...
  auto checkpoint = runner_.Checkpoint("audit");
  if (!checkpoint.ok()) return checkpoint.status();
  bool open = true;
  Status read_status;
  if (after < *checkpoint) {
    Status scan = index_.ForEachPosition(org, after, [&](events::Position p) {
      if (p > *checkpoint || stop) return false;
      auto event = store_.ReadAt(p);
      if (!event.ok()) {
        read_status = event.status();
        return false;
      }
      open = sink(*event);
      after = p;
      return open;
    });
    LF_RETURN_IF_ERROR(scan);
    LF_RETURN_IF_ERROR(read_status);
    after = std::max(after, *checkpoint);
  }
  // ...then follow the log itself, which is ahead of any index.
  // Short waits so that `stop` is noticed quickly; a heartbeat after each quiet spell.
  const auto slice = std::min(heartbeat, std::chrono::milliseconds(200));
  auto quiet = std::chrono::milliseconds(0);
  while (open && !stop) {
    events::Position head = store_.WaitForEvents(after, slice);
    if (stop) break;
    if (head <= after) {
      if (!alive()) break;
      quiet += slice;
      if (quiet >= heartbeat) {
        open = idle();
        quiet = std::chrono::milliseconds(0);
      }
      continue;
    }
    quiet = std::chrono::milliseconds(0);
    Status read = store_.ReadAll(after + 1, [&](const events::Event& e) {
      if (e.position > head) return false;
      after = e.position;
      if (e.org != org) return true;
      open = sink(e);
      return open && !stop;
    });
    LF_RETURN_IF_ERROR(read);
  }
  return Status::Ok();
}

}  // namespace ledgerflow::service
