#include "projections/projection_runner.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "projections/key_encoding.h"

namespace ledgerflow::projections {
namespace {

constexpr size_t kReplayBatch = 2000;

std::string CheckpointKey(std::string_view name) {
  return "checkpoint/" + std::string(name);
}
std::string VersionKey(std::string_view name) { return "projection_version/" + std::string(name); }
constexpr size_t kDeleteBatch = 10000;

}  // namespace

ProjectionRunner::ProjectionRunner(events::EventStore& store, events::KvStore& kv)
    : store_(store), kv_(kv) {}

void ProjectionRunner::Add(Projection* projection) { projections_.push_back(projection); }

std::vector<std::string> ProjectionRunner::Names() const {
  std::vector<std::string> names;
  for (const Projection* p : projections_) names.emplace_back(p->name());
  return names;
}

StatusOr<events::Position> ProjectionRunner::Checkpoint(std::string_view name) {
  auto value = kv_.Get(CheckpointKey(name));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return events::Position{0};
  return DecodeBigEndian64(**value);
}

Status ProjectionRunner::ApplyOne(Projection& projection,
                                  std::span<const events::Event> events) {
  events::KvBatch batch;
  LF_RETURN_IF_ERROR(projection.Apply(events, batch));
  batch.Put(CheckpointKey(projection.name()), EncodeBigEndian64(events.back().position));
  LF_RETURN_IF_ERROR(kv_.Write(batch));
  projection.Committed(false);
  return Status::Ok();
}

Status ProjectionRunner::ApplyAll(std::span<const events::Event> events) {
  if (events.empty()) return Status::Ok();
  // One write for every projection and its checkpoint.
  events::KvBatch batch;
  std::string position = EncodeBigEndian64(events.back().position);
  for (Projection* p : projections_) {
    LF_RETURN_IF_ERROR(p->Apply(events, batch));
    batch.Put(CheckpointKey(p->name()), position);
  }
  LF_RETURN_IF_ERROR(kv_.Write(batch));
  for (Projection* p : projections_) p->Committed(false);
  return Status::Ok();
}

Status ProjectionRunner::Drop(Projection& projection) {
  for (const std::string& prefix : projection.KeyPrefixes()) {
    events::KvBatch batch;
    Status write_status;
    LF_RETURN_IF_ERROR(kv_.Scan(prefix, "", [&](std::string_view key, std::string_view) {
      batch.Delete(std::string(key));
      if (batch.size() < kDeleteBatch) return true;
      write_status = kv_.Write(batch);
      batch = events::KvBatch();
      return write_status.ok();
    }));
    LF_RETURN_IF_ERROR(write_status);
    if (!batch.empty()) LF_RETURN_IF_ERROR(kv_.Write(batch));
  }
  events::KvBatch batch;
  batch.Delete(CheckpointKey(projection.name()));
  return kv_.Write(batch);
}

Status ProjectionRunner::ResetIfOutdated(Projection& projection) {
  auto stored = kv_.Get(VersionKey(projection.name()));
  if (!stored.ok()) return stored.status();
  std::string current = std::to_string(projection.version());
  if (stored->has_value() && **stored == current) return Status::Ok();
  LF_RETURN_IF_ERROR(Drop(projection));
  events::KvBatch batch;
  batch.Put(VersionKey(projection.name()), current);
  return kv_.Write(batch);
}

Status ProjectionRunner::CatchUp(const std::function<void(events::Position)>& progress) {
  for (Projection* p : projections_) {
    auto checkpoint = Checkpoint(p->name());
    if (!checkpoint.ok()) return checkpoint.status();
    std::vector<events::Event> pending;
    Status apply_status;
    Status read = store_.ReadAll(*checkpoint + 1, [&](const events::Event& e) {
      pending.push_back(e);
      if (pending.size() < kReplayBatch) return true;
      apply_status = ApplyOne(*p, pending);
      if (progress) progress(pending.back().position);
      pending.clear();
      return apply_status.ok();
    });
    LF_RETURN_IF_ERROR(read);
    LF_RETURN_IF_ERROR(apply_status);
    if (!pending.empty()) {
      LF_RETURN_IF_ERROR(ApplyOne(*p, pending));
      if (progress) progress(pending.back().position);
    }
  }
  return Status::Ok();
}

Status ProjectionRunner::Start(const std::function<void(events::Position)>& progress) {
  for (Projection* p : projections_) LF_RETURN_IF_ERROR(ResetIfOutdated(*p));
  LF_RETURN_IF_ERROR(CatchUp(progress));
  store_.SetCommitListener([this](std::span<const events::Event> events) {
    if (events.empty() && !behind_) return;
    // Behind until the read models are written, also when a projection throws (the
    // store catches it): the next group, even one that commits nothing, or the store's
    // idle tick, then replays the log from the checkpoints instead of applying only
    // its own events on top.
    const bool replay = behind_;
    behind_ = true;
    Status s;
    if (replay) {
      // What the caches hold may come from the group that failed.
      for (Projection* p : projections_) p->Committed(/*dropped_all=*/true);
      s = CatchUp(nullptr);
    } else {
      s = ApplyAll(events);
    }
    if (!s.ok()) {
      std::fprintf(stderr, "ledgerflow: read models not written (%s); they replay the log from "
                   "their checkpoints at the next group, or within a second\n",
                   s.ToString().c_str());
      return;
    }
    behind_ = false;
    if (events.empty()) return;
    std::lock_guard<std::mutex> lock(observers_mu_);
    for (const CommitObserver& observer : observers_) observer(events);
  });
  return Status::Ok();
}

void ProjectionRunner::Observe(CommitObserver observer) {
  std::lock_guard<std::mutex> lock(observers_mu_);
  observers_.push_back(std::move(observer));
}

Status ProjectionRunner::Rebuild(const std::function<void(events::Position)>& progress) {
  LF_RETURN_IF_ERROR(kv_.Clear());
  for (Projection* p : projections_) p->Committed(true);
  for (Projection* p : projections_) LF_RETURN_IF_ERROR(ResetIfOutdated(*p));
  return CatchUp(progress);
}

}  // namespace ledgerflow::projections
