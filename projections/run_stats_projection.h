// Run statistics per workflow version, folded from run streams into the KvStore: runs
// by status, the latest dispatch and completed runs' durations (core/run_stats.h),
// kept up to date event by event so that a read costs one key per version with runs.
// Beside them, per run, what the run counts for, so that a status change moves it.
// Reads are org-scoped and thread-safe; Apply is called by the ProjectionRunner only.
#pragma once

#include <string>
#include <vector>

#include "core/run_stats.h"
#include "events/kv_store.h"
#include "projections/projection.h"

namespace ledgerflow::projections {

struct VersionRunStats {
  int64_t version = 0;
  core::RunStats stats;
};

struct WorkflowRunStats {
  core::RunStats overall;
  std::vector<VersionRunStats> by_version;  // newest version first, only versions with runs
};

class RunStatsProjection : public Projection {
 public:
  explicit RunStatsProjection(events::KvStore& kv) : kv_(kv) {}

  std::string_view name() const override { return "run_stats"; }
  Status Apply(std::span<const events::Event> events, events::KvBatch& batch) override;
  std::vector<std::string> KeyPrefixes() const override;

  // The statistics of `org`'s workflow `workflow_id`; all zero when it has no runs.
  StatusOr<WorkflowRunStats> Get(std::string_view org, std::string_view workflow_id) const;

 private:
  events::KvStore& kv_;
};

}  // namespace ledgerflow::projections
