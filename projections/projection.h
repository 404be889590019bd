// A read model folded from the log. Each projection keeps its state and its
// checkpoint (last applied position) in the KvStore, written in one batch, so it is
// applied exactly once and resumes after a restart without a full replay.
#pragma once

#include <span>
#include <string_view>

#include "core/status.h"
#include "events/event.h"
#include "events/kv_store.h"

namespace ledgerflow::projections {

class Projection {
 public:
  virtual ~Projection() = default;

  // Stable name; the checkpoint key derives from it.
  virtual std::string_view name() const = 0;

  // Folds `events` (position order, all > checkpoint) into `batch`, which the caller
  // writes atomically together with the new checkpoint. Events of streams the
  // projection does not model are skipped.
  virtual Status Apply(std::span<const events::Event> events, events::KvBatch& batch) = 0;

  // Every key prefix the projection owns (for rebuild).
  virtual std::vector<std::string> KeyPrefixes() const = 0;

  // Called after the batch holding Apply's changes has been written, or after all
  // read models were dropped (`dropped_all`), so that caches can forget.
  virtual void Committed(bool dropped_all) { (void)dropped_all; }

  // The layout of the projection's keys; bumping it makes the next start drop the
  // projection and replay it from the log.
  virtual int version() const { return 1; }
};

}  // namespace ledgerflow::projections
