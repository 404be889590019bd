#include "service/ledger.h"

namespace ledgerflow::service {

Ledger::~Ledger() {
  // Retries append; the store's writer calls into the services and read models.
  if (workflow_service_) workflow_service_->StopRetries();
  storage_.reset();
}

StatusOr<std::unique_ptr<Ledger>> Ledger::Open(
    const LedgerOptions& options, const std::function<void(events::Position)>& progress) {
  events::StorageOptions storage_options;
  storage_options.sync = options.sync;
  auto storage = events::RocksStorage::Open(options.data_dir, storage_options);
  if (!storage.ok()) return storage.status();

  std::unique_ptr<Ledger> ledger(new Ledger());
  ledger->storage_ = std::move(*storage);
  auto& kv = ledger->storage_->projections();
  ledger->workflow_view_ = std::make_unique<projections::WorkflowProjection>(kv, ledger->store());
  ledger->key_view_ = std::make_unique<projections::KeyProjection>(kv);
  ledger->runner_ = std::make_unique<projections::ProjectionRunner>(ledger->store(), kv);
  ledger->runner_->Add(ledger->workflow_view_.get());
  ledger->runner_->Add(ledger->key_view_.get());
  ledger->audit_index_ = std::make_unique<projections::AuditProjection>(kv);
  ledger->runner_->Add(ledger->audit_index_.get());
  ledger->run_view_ = std::make_unique<projections::RunProjection>(kv);
  ledger->runner_->Add(ledger->run_view_.get());
  ledger->run_stats_ = std::make_unique<projections::RunStatsProjection>(kv);
  ledger->runner_->Add(ledger->run_stats_.get());
  LF_RETURN_IF_ERROR(ledger->runner_->Start(progress));

  core::ValidationOptions validation;
  validation.allow_scripts = options.allow_scripts;
  ledger->workflow_service_ =
      std::make_unique<WorkflowService>(ledger->store(), *ledger->workflow_view_,
                                        *ledger->run_stats_, validation);
  ledger->key_service_ = std::make_unique<KeyService>(ledger->store(), *ledger->key_view_);
  ledger->audit_service_ = std::make_unique<AuditService>(ledger->store(), *ledger->audit_index_,
                                                          *ledger->runner_);
  ledger->run_service_ = std::make_unique<RunService>(ledger->store(), *ledger->workflow_view_,
                                                      *ledger->run_view_);
  return ledger;
}

}  // namespace ledgerflow::service
