// Organisations and API keys, folded from org-* and key-* streams. The secret is
// never stored: only its hash. Reads are thread-safe; Apply is the runner's.
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/access.h"
#include "events/kv_store.h"
#include "projections/projection.h"

namespace ledgerflow::projections {

struct KeyView {
  std::string key_id;
  std::string org;
  std::string name;
  core::Role role = core::Role::kViewer;
  std::string secret_hash;  // hex SHA-256 of the secret
  int64_t created_at_ms = 0;
  std::string created_by;
  bool revoked = false;
  int64_t revoked_at_ms = 0;
};

class KeyProjection : public Projection {
 public:
  explicit KeyProjection(events::KvStore& kv) : kv_(kv) {}

  std::string_view name() const override { return "keys"; }
  // 2: key names holding a NUL character are stored whole
  int version() const override { return 2; }
  Status Apply(std::span<const events::Event> events, events::KvBatch& batch) override;
  void Committed(bool dropped_all) override;
  std::vector<std::string> KeyPrefixes() const override;

  // Served from a small in-memory cache (every request authenticates); a key's
  // entry is dropped as soon as an event about it is written.
  StatusOr<std::optional<KeyView>> GetKey(std::string_view key_id) const;
  // Keys of `org`, revoked ones included, in key id order.
  StatusOr<std::vector<KeyView>> ListKeys(std::string_view org) const;
  StatusOr<bool> OrgExists(std::string_view org) const;
  // Every org, in id order.
  StatusOr<std::vector<std::string>> ListOrgs() const;

 private:
  StatusOr<std::optional<KeyView>> LoadKey(std::string_view key_id) const;

  static constexpr size_t kMaxCachedKeys = 10000;

  events::KvStore& kv_;
  std::set<std::string> changed_;  // keys touched by the batch being applied (writer only)
  mutable std::shared_mutex cache_mu_;
  mutable std::unordered_map<std::string, KeyView> cache_;
  mutable uint64_t generation_ = 0;  // bumped whenever entries are dropped
};

}  // namespace ledgerflow::projections
