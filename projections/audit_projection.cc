#include "projections/audit_projection.h"

#include "projections/key_encoding.h"

namespace ledgerflow::projections {
namespace {

std::string Prefix(std::string_view org) { return "audit/" + std::string(org) + "/"; }

}  // namespace

Status AuditProjection::Apply(std::span<const events::Event> events, events::KvBatch& batch) {
  for (const events::Event& e : events) batch.Put(Prefix(e.org) + EncodeBigEndian64(e.position), "");
  return Status::Ok();
}

Status AuditProjection::ForEachPosition(std::string_view org, events::Position after,
                                        const std::function<bool(events::Position)>& visit) const {
  std::string prefix = Prefix(org);
  return kv_.Scan(prefix, prefix + EncodeBigEndian64(after + 1),
                  [&](std::string_view key, std::string_view) {
                    return visit(DecodeBigEndian64(key.substr(prefix.size())));
                  });
}

}  // namespace ledgerflow::projections
