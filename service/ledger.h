// Ledgerflow assembled over one data directory: the RocksDB storage, the read models
// kept in step with the log, and the command services. Used by `serve` and by the
// offline CLI commands. Thread-safe once opened.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/definition.h"
#include "events/rocks_storage.h"
#include "projections/audit_projection.h"
#include "projections/key_projection.h"
#include "projections/projection_runner.h"
#include "projections/run_projection.h"
#include "projections/run_stats_projection.h"
#include "projections/workflow_projection.h"
#include "service/audit_service.h"
#include "service/key_service.h"
#include "service/run_service.h"
#include "service/workflow_service.h"

namespace ledgerflow::service {

struct LedgerOptions {
  std::string data_dir = "./data";
  bool allow_scripts = false;
  bool sync = true;  // WAL fsync before an append returns; off only in benchmarks
};

class Ledger {
 public:
  // Opens (creating if needed) the data directory and catches the read models up
  // with the log. `progress(position)` reports replay progress.
  static StatusOr<std::unique_ptr<Ledger>> Open(
      const LedgerOptions& options,
      const std::function<void(events::Position)>& progress = nullptr);

  // Closes the storage first: its writer finishes queued appends, whose callbacks
  // still reach live services and read models.
  ~Ledger();

  events::EventStore& store() { return storage_->events(); }
  projections::ProjectionRunner& runner() { return *runner_; }
  events::KvStore& read_models() { return storage_->projections(); }
  const events::RocksStorage& storage() const { return *storage_; }
  const projections::WorkflowProjection& workflow_view() const { return *workflow_view_; }
  const projections::KeyProjection& key_view() const { return *key_view_; }
  const projections::RunProjection& run_view() const { return *run_view_; }
  const projections::RunStatsProjection& run_stats() const { return *run_stats_; }
  WorkflowService& workflows() { return *workflow_service_; }
  KeyService& keys() { return *key_service_; }
  AuditService& audit() { return *audit_service_; }
  RunService& runs() { return *run_service_; }

 private:
  Ledger() = default;

  std::unique_ptr<events::RocksStorage> storage_;
  std::unique_ptr<projections::WorkflowProjection> workflow_view_;
  std::unique_ptr<projections::KeyProjection> key_view_;
  std::unique_ptr<projections::AuditProjection> audit_index_;
  std::unique_ptr<projections::RunProjection> run_view_;
  std::unique_ptr<projections::RunStatsProjection> run_stats_;
  std::unique_ptr<projections::ProjectionRunner> runner_;
  std::unique_ptr<WorkflowService> workflow_service_;
  std::unique_ptr<KeyService> key_service_;
  std::unique_ptr<AuditService> audit_service_;
  std::unique_ptr<RunService> run_service_;
};

}  // namespace ledgerflow::service
