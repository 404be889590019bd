// Keeps a set of projections in step with the event log: catches them up from their
// checkpoints at start, applies each committed group (as the store's commit
// listener, so a command is answered only after its events are readable), and
// rebuilds them from position 0. Apply runs on the store's writer thread only.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/status.h"
#include "events/event_store.h"
#include "events/kv_store.h"
#include "projections/projection.h"

namespace ledgerflow::projections {

class ProjectionRunner {
 public:
  ProjectionRunner(events::EventStore& store, events::KvStore& kv);

  void Add(Projection* projection);

  // Replays what each projection has not applied yet, then installs the commit
  // listener. Call once before serving. `progress(position)` is called now and then.
  Status Start(const std::function<void(events::Position)>& progress = nullptr);

  // Drops every projection's keys and checkpoints and replays from position 0.
  // The store must have no concurrent writers.
  Status Rebuild(const std::function<void(events::Position)>& progress = nullptr);

  // `observer` is called on the store's writer thread with every group's committed
  // events once the projections have applied them (so what it reads is up to date).
  // Thread-safe; observers are never removed.
  using CommitObserver = std::function<void(std::span<const events::Event>)>;
  void Observe(CommitObserver observer);

  // The last position applied by projection `name` (0 if none).
  StatusOr<events::Position> Checkpoint(std::string_view name);
  // The projections' names, in the order they apply events.
  std::vector<std::string> Names() const;

 private:
  Status ApplyAll(std::span<const events::Event> events);
  Status ApplyOne(Projection& projection, std::span<const events::Event> events);
  Status CatchUp(const std::function<void(events::Position)>& progress);
  // Drops a projection whose stored layout version differs from its code's.
  Status ResetIfOutdated(Projection& projection);
  Status Drop(Projection& projection);

  events::EventStore& store_;
  events::KvStore& kv_;
  std::vector<Projection*> projections_;
  // The read models miss events of the log: their last write failed, or a projection
  // threw (writer thread only).
  bool behind_ = false;
  std::mutex observers_mu_;
  std::vector<CommitObserver> observers_;
};

}  // namespace ledgerflow::projections
