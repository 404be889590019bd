#include "core/access.h"

namespace ledgerflow::core {
namespace {

bool IsHex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "editor") return Role::kEditor;
  if (name == "admin") return Role::kAdmin;
  if (name == "owner") return Role::kOwner;
  return std::nullopt;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kEditor: return "editor";
    case Role::kAdmin: return "admin";
    case Role::kOwner: return "owner";
  }
  return "viewer";
}

std::string OrgStream(std::string_view org) { return "org-" + std::string(org); }
std::string KeyStream(std::string_view key_id) { return "key-" + std::string(key_id); }

bool IsValidOrgId(std::string_view org) {
  if (org.empty() || org.size() > 64) return false;
  for (char c : org) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<KeyToken> ParseKeyToken(std::string_view token) {
  // lf_key_<hex>_<hex>
  constexpr std::string_view kPrefix = "lf_key_";
  if (!token.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest = token.substr(kPrefix.size());
  size_t sep = rest.find('_');
  if (sep == std::string_view::npos) return std::nullopt;
  std::string_view id_hex = rest.substr(0, sep);
  std::string_view secret = rest.substr(sep + 1);
  if (!IsHex(id_hex) || id_hex.size() > 64 || !IsHex(secret) || secret.size() > 128) {
    return std::nullopt;
  }
  return KeyToken{"key_" + std::string(id_hex), std::string(secret)};
}

std::string FormatKeyToken(std::string_view key_id, std::string_view secret) {
  return "lf_" + std::string(key_id) + "_" + std::string(secret);
}

}  // namespace ledgerflow::core
