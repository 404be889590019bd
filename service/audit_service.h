// The audit trail of one organisation: filtered, paged reads of its raw events (with
// hashes), a streaming export, a re-check of its hash chain, and a live follow for
// the event feed. Every read is scoped to the caller's org. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "events/event_store.h"
#include "projections/audit_projection.h"
#include "projections/projection_runner.h"
#include "service/caller.h"

namespace ledgerflow::service {

struct AuditQuery {
  std::optional<std::string> stream;
  std::optional<std::string> type;
  std::optional<std::string> actor;
  std::optional<int64_t> since_ms;  // at >= since
  std::optional<int64_t> until_ms;  // at <= until
  events::Position after = 0;       // cursor: positions > after
  size_t limit = 100;
};

struct AuditPage {
  std::vector<events::Event> events;
  std::optional<events::Position> next_after;  // set when more may follow
};

struct ChainReport {
  bool ok = true;
  uint64_t checked = 0;
  events::Position head_position = 0;
  std::string head_hash;
  std::string error;  // the first break, when !ok
};

class AuditService {
 public:
  AuditService(events::EventStore& store, const projections::AuditProjection& index,
               projections::ProjectionRunner& runner)
      : store_(store), index_(index), runner_(runner) {}

  StatusOr<AuditPage> Events(const Caller& caller, const AuditQuery& query) const;

  // Calls `sink` with every matching event (ignoring limit) until it returns false.
  // Holds at most one event in memory (with a stream filter, a page of the stream's).
  // Once `stop` is set it ends, with Unavailable "shutting_down", however few events
  // match (the flag is looked at for every event scanned).
  Status Export(const Caller& caller, const AuditQuery& query,
                const std::function<bool(const events::Event&)>& sink,
                const std::atomic<bool>* stop = nullptr) const;

  // Re-checks the caller's org chain from its first event.
  StatusOr<ChainReport> Verify(const Caller& caller) const;

  // Delivers the org's events after `after` to `sink`, then waits for new ones,
  // calling `idle()` after each quiet `heartbeat` and `alive()` every 200 ms or so
  // while waiting; returns when `sink`, `idle` or `alive` returns false or `stop`
  // becomes true. Nothing is missed or repeated.
  Status Follow(std::string_view org, events::Position after,
                const std::function<bool(const events::Event&)>& sink,
                const std::function<bool()>& idle, const std::function<bool()>& alive,
                const std::atomic<bool>& stop, std::chrono::milliseconds heartbeat) const;

 private:
  // Export of one stream, read through the store's stream index.
  Status ExportStream(const Caller& caller, const AuditQuery& query,
                      const std::function<bool(const events::Event&)>& sink,
                      const std::atomic<bool>* stop) const;

  events::EventStore& store_;
  const projections::AuditProjection& index_;
  projections::ProjectionRunner& runner_;
};

bool MatchesAuditQuery(const events::Event& e, const AuditQuery& q);

}  // namespace ledgerflow::service
