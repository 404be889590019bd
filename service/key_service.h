// Organisations and API keys: creating, authenticating, listing and revoking.
// Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/access.h"
#include "events/event_store.h"
#include "projections/key_projection.h"
#include "service/caller.h"

namespace ledgerflow::service {

struct CreatedKey {
  projections::KeyView key;
  std::string token;  // "lf_<key_id>_<secret>", shown once
  bool replayed = false;  // a retry under the same Idempotency-Key
};

class KeyService {
 public:
  KeyService(events::EventStore& store, const projections::KeyProjection& keys)
      : store_(store), keys_(keys) {}

  // Resolves an Authorization header value ("Bearer lf_..."). Unauthenticated for a
  // missing, malformed, unknown or revoked key.
  StatusOr<Caller> Authenticate(std::string_view authorization) const;

  // Creates a key in `org` (creating the org on first use). PermissionDenied when
  // `by` may not grant `role`: higher than its own, or admin/owner by a non-owner.
  //
  // With an `idempotency_key`, a retry of the same request (same name and role) answers
  // the key the first one created, with a new secret that replaces the first one (which
  // the client never received, or it would not retry; only hashes are stored, so the
  // first secret cannot be shown again). The same key with another name or role is
  // Conflict "idempotency_key_reused", as is a retry once the key has been revoked.
  // The key's id is derived from (org, idempotency key), so the log's expected-version
  // check makes two concurrent first attempts create one key.
  StatusOr<CreatedKey> CreateKey(const Caller& by, std::string_view org, std::string_view name,
                                 core::Role role,
                                 std::optional<std::string> idempotency_key = std::nullopt);

  // Revokes a key of the caller's org; NotFound for unknown keys and other orgs' keys.
  // A caller revokes only keys it could have created (PermissionDenied: an admin and an
  // owner key), and the org's last active owner key stays (Conflict "last_owner_key").
  Status RevokeKey(const Caller& by, std::string_view key_id);

  StatusOr<std::vector<projections::KeyView>> ListKeys(const Caller& by) const;

  // Whether `key_id` still authenticates (exists and is not revoked): for answers that
  // outlive their request, such as a live feed.
  bool IsActive(std::string_view key_id) const;

 private:
  Status EnsureOrg(const Caller& by, std::string_view org);
  StatusOr<CreatedKey> ReplayCreate(const Caller& by, std::string_view org,
                                    const std::string& key_id, const std::string& fingerprint);

  events::EventStore& store_;
  const projections::KeyProjection& keys_;
  // Makes "is it the last owner key?" and the revocation one step: otherwise two
  // concurrent revocations could each leave the other key as the last one.
  std::mutex revoke_mu_;
};

}  // namespace ledgerflow::service
