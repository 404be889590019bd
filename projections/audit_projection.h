// The per-organisation index of the log: which positions belong to which org, so
// that an org's audit trail, export and feed never scan other orgs' events. Reads
// are thread-safe; Apply is the runner's.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "events/kv_store.h"
#include "projections/projection.h"

namespace ledgerflow::projections {

class AuditProjection : public Projection {
 public:
  explicit AuditProjection(events::KvStore& kv) : kv_(kv) {}

  std::string_view name() const override { return "audit"; }
  Status Apply(std::span<const events::Event> events, events::KvBatch& batch) override;
  std::vector<std::string> KeyPrefixes() const override { return {"audit/"}; }

  // Calls `visit(position)` for each event of `org` with position > after, in order,
  // until it returns false.
  Status ForEachPosition(std::string_view org, events::Position after,
                         const std::function<bool(events::Position)>& visit) const;

 private:
  events::KvStore& kv_;
};

}  // namespace ledgerflow::projections
