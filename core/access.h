// Organisations, roles and API keys as the domain sees them. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ledgerflow::core {

// Ordered: each role may do everything the previous one may.
enum class Role { kViewer = 0, kEditor = 1, kAdmin = 2, kOwner = 3 };

std::optional<Role> ParseRole(std::string_view name);
const char* RoleName(Role role);

// Stored event type names: written to disk and never changed.
inline constexpr std::string_view kOrgCreated = "org.created";
inline constexpr std::string_view kKeyCreated = "key.created";
inline constexpr std::string_view kKeyRevoked = "key.revoked";
// A key created under an Idempotency-Key whose answer a retry asked for again: the
// secret nobody received is replaced by the one in the retry's answer.
inline constexpr std::string_view kKeySecretReplaced = "key.secret_replaced";

std::string OrgStream(std::string_view org);
std::string KeyStream(std::string_view key_id);

// Org ids are slugs: [a-z0-9_-], 1..64 characters.
bool IsValidOrgId(std::string_view org);

// The parts of "lf_<key_id>_<secret>"; key ids are "key_" + hex, secrets hex.
struct KeyToken {
  std::string key_id;
  std::string secret;
};
std::optional<KeyToken> ParseKeyToken(std::string_view token);
std::string FormatKeyToken(std::string_view key_id, std::string_view secret);

}  // namespace ledgerflow::core
