// The workflow catalog and version history, folded from workflow streams and kept
// in the KvStore (so memory stays bounded as the catalog grows). Reads are org-scoped:
// another org's workflow is simply absent. Thread-safe for reads; Apply is called by
// the ProjectionRunner only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/workflow.h"
#include "events/event_store.h"
#include "events/kv_store.h"
#include "projections/projection.h"
#include "projections/view_cache.h"

namespace ledgerflow::projections {

struct WorkflowListQuery {
  std::optional<std::string> status;
  std::optional<std::string> trigger_type;
  std::optional<std::string> tag;
  std::optional<std::string> project_id;
  std::optional<std::string> q;  // case-insensitive substring of name or description
  size_t limit = 50;
  size_t offset = 0;
};

struct WorkflowList {
  std::vector<core::WorkflowState> workflows;  // newest first, without definitions
  size_t total = 0;                            // all matches, ignoring limit/offset
};

// The workflow exactly as GET /api/workflows/{id} shows it, rendered when its events
// are applied so that reads send stored bytes.
struct WorkflowView {
  std::string id;
  int64_t version = 0;
  std::string json;
  uint64_t stream_version = 0;  // the events it reflects
};

struct VersionList {
  std::vector<core::VersionRecord> versions;  // newest first, without definitions
  size_t total = 0;
};

class WorkflowProjection : public Projection {
 public:
  // Memory for rendered views kept for hot reads (about 1 KB each for small
  // definitions: some 10,000 of them).
  static constexpr size_t kViewCacheBytes = size_t{12} << 20;

  // Version records point into `store` for their definitions.
  WorkflowProjection(events::KvStore& kv, events::EventStore& store)
      : kv_(kv), store_(store), views_(kViewCacheBytes) {}

  std::string_view name() const override { return "workflows"; }
  Status Apply(std::span<const events::Event> events, events::KvBatch& batch) override;
  std::vector<std::string> KeyPrefixes() const override;
  // 4: one record per workflow; 5: the record holds no state summary; 6: version
  // records refer to their event for the definition
  int version() const override { return 6; }
  void Committed(bool dropped_all) override;

  // The state of a live workflow of `org`; nullopt when it is absent or deleted.
  StatusOr<std::optional<core::WorkflowState>> Get(std::string_view org,
                                                   std::string_view id) const;
  // The rendered view of a live workflow of `org`; nullopt when absent or deleted.
  StatusOr<std::optional<WorkflowView>> GetView(std::string_view org, std::string_view id) const;
  StatusOr<std::optional<core::VersionRecord>> GetVersion(std::string_view org,
                                                          std::string_view id,
                                                          int64_t version) const;
  StatusOr<WorkflowList> List(std::string_view org, const WorkflowListQuery& query) const;
  StatusOr<VersionList> ListVersions(std::string_view org, std::string_view id,
                                     size_t limit, size_t offset) const;

 private:
  StatusOr<size_t> LiveCount(std::string_view org) const;
  // A version record without its definition, and the position of the event that made it.
  StatusOr<std::optional<std::pair<events::Position, core::VersionRecord>>> VersionEntry(
      std::string_view org, std::string_view id, int64_t version) const;

  events::KvStore& kv_;
  events::EventStore& store_;
  mutable ViewCache views_;
  // Views changed by the last Apply, published once its batch is written. Apply and
  // Committed run on one thread (the runner's).
  std::vector<std::pair<std::string, std::shared_ptr<const WorkflowView>>> applied_views_;
};

// The workflow as it stood at `at_ms`, folded from its stream in the log (time
// travel). NotFound when it did not exist then, was deleted by then, or belongs to
// another org.
StatusOr<core::WorkflowState> WorkflowAsOf(events::EventStore& store, std::string_view org,
                                           std::string_view id, int64_t at_ms);

// The workflow right after the event at `position` (its state may be deleted or
// absent); for answering a command exactly when later writes already landed.
// `state` (of `org`'s workflow `id`, possibly empty) with the events of the workflow's
// stream after state.stream_version folded on: what a read model that missed them
// would hold. Reads only those events; stops at another org's.
StatusOr<core::WorkflowState> WorkflowCaughtUp(events::EventStore& store, std::string_view org,
                                               std::string_view id, core::WorkflowState state);

StatusOr<core::WorkflowState> WorkflowAtPosition(events::EventStore& store,
                                                 std::string_view org, std::string_view id,
                                                 events::Position position);

}  // namespace ledgerflow::projections
