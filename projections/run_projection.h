// Run state folded from run streams, in the KvStore, with the indexes the run queries
// read: one workflow's runs, an org's runs (each also by status) newest dispatched
// first, counts by status, idempotency keys per workflow, and the unfinished runs the
// engine resumes at start. Reads are org-scoped. Thread-safe for reads; Apply is
// called by the ProjectionRunner only.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/run.h"
#include "events/kv_store.h"
#include "projections/projection.h"

namespace ledgerflow::projections {

enum class RunSort { kNewest, kOldest, kLongest, kShortest };

struct RunQuery {
  std::optional<std::string> workflow_id;
  std::optional<core::RunStatus> status;
  std::optional<int64_t> since_ms;  // created at or after
  std::optional<int64_t> until_ms;  // created before
  std::optional<std::string> q;     // case-insensitive substring of reason, trigger or ids
  RunSort sort = RunSort::kNewest;
  size_t limit = 50;
  size_t offset = 0;
};

struct RunList {
  std::vector<core::RunState> runs;
  size_t total = 0;  // every match, ignoring limit and offset
};

class RunProjection : public Projection {
 public:
  explicit RunProjection(events::KvStore& kv) : kv_(kv) {}

  std::string_view name() const override { return "runs"; }
  Status Apply(std::span<const events::Event> events, events::KvBatch& batch) override;
  std::vector<std::string> KeyPrefixes() const override;

  // The run `run_id` of `org`; nullopt when absent or another org's.
  StatusOr<std::optional<core::RunState>> Get(std::string_view org, std::string_view run_id) const;
  // Runs matching `query`. Without q, since/until or a duration sort it reads only the
  // page (and the counts); otherwise it reads the matching index of the workflow or org.
  StatusOr<RunList> List(std::string_view org, const RunQuery& query) const;
  // The newest run dispatched under `idempotency_key` for the workflow; nullopt if none.
  StatusOr<std::optional<std::string>> FindByIdempotencyKey(std::string_view org,
                                                            std::string_view workflow_id,
                                                            std::string_view key) const;
  // Every unfinished run (pending, running or paused) of every org, in dispatch order,
  // until `visit` returns false.
  Status ForEachUnfinished(const std::function<bool(const core::RunState&)>& visit) const;

 private:
  StatusOr<size_t> Count(std::string_view org, std::string_view workflow_id,
                         std::optional<core::RunStatus> status) const;

  events::KvStore& kv_;
};

// The idempotency key's index component: hex SHA-256 of the key (keys are client text
// of any length).
std::string IdempotencyKeyDigest(std::string_view key);

}  // namespace ledgerflow::projections
