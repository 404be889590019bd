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

}  // namespace

ProjectionRunner::ProjectionRunner(events::EventStore& store, events::KvStore& kv)
    : store_(store), kv_(kv) {}

void ProjectionRunner::Add(Projection* projection) { projections_.push_back(projection); }

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
  return kv_.Write(batch);
}

Status ProjectionRunner::ApplyAll(std::span<const events::Event> events) {
  if (events.empty()) return Status::Ok();
  for (Projection* p : projections_) LF_RETURN_IF_ERROR(ApplyOne(*p, events));
  return Status::Ok();
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
  LF_RETURN_IF_ERROR(CatchUp(progress));
  store_.SetCommitListener([this](std::span<const events::Event> events) {
    Status s = ApplyAll(events);
    // A failed projection write leaves the checkpoint behind; the next start
    // replays from it. Reads may lag until then, so say so loudly.
    if (!s.ok()) std::fprintf(stderr, "projection apply failed: %s\n", s.ToString().c_str());
  });
  return Status::Ok();
}

Status ProjectionRunner::Rebuild(const std::function<void(events::Position)>& progress) {
  LF_RETURN_IF_ERROR(kv_.Clear());
  return CatchUp(progress);
}

}  // namespace ledgerflow::projections
