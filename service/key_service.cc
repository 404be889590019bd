#include "service/key_service.h"

#include <algorithm>
#include <cctype>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.h"
#include "core/utf8.h"
#include "events/chain.h"
#include "service/crypto.h"

namespace ledgerflow::service {
namespace {

constexpr size_t kSecretBytes = 24;  // 192 bits
constexpr size_t kKeyIdBytes = 8;

// One event appended on behalf of `by`, in `org`.
events::AppendRequest OneEvent(const Caller& by, std::string_view org, std::string stream,
                               events::Version expected, std::string_view type,
                               std::string data) {
  events::AppendRequest req;
  req.stream = std::move(stream);
  req.expected_version = expected;
  req.org = std::string(org);
  req.actor = by.actor;
  req.request_id = by.request_id;
  req.events.push_back({std::string(type), 1, std::move(data), std::nullopt});
  return req;
}

// The fingerprint an Idempotency-Key remembers: what the request asks for.
std::string CreateFingerprint(std::string_view name, core::Role role) {
  std::string text(name);
  text.push_back('\0');
  text += core::RoleName(role);
  return events::Sha256Hex(text);
}

// The key id a create under `idempotency_key` gets: the same for every retry in `org`.
std::string IdempotentKeyId(std::string_view org, std::string_view idempotency_key) {
  std::string text = "key-idempotency\0";
  text += org;
  text.push_back('\0');
  text += idempotency_key;
  return "key_" + events::Sha256Hex(text).substr(0, 2 * kKeyIdBytes);
}

Status BadKey(std::string message) {
  return Unauthenticated(std::move(message)).WithReason("unauthenticated");
}

}  // namespace

StatusOr<Caller> KeyService::Authenticate(std::string_view authorization) const {
  if (authorization.empty()) return BadKey("Missing API key: send Authorization: Bearer lf_...");
  // The scheme is case-insensitive and may be followed by more than one space
  // (RFC 9110, section 11.1 and 11.4).
  constexpr std::string_view kBearer = "bearer";
  const bool is_bearer =
      authorization.size() > kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), authorization.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }) &&
      (authorization[kBearer.size()] == ' ' || authorization[kBearer.size()] == '\t');
  if (!is_bearer) {
    return BadKey("Malformed Authorization header: expected 'Bearer lf_<key_id>_<secret>'");
  }
  std::string_view credentials = authorization.substr(kBearer.size());
  while (!credentials.empty() && (credentials.front() == ' ' || credentials.front() == '\t')) {
    credentials.remove_prefix(1);
  }
  while (!credentials.empty() && (credentials.back() == ' ' || credentials.back() == '\t')) {
    credentials.remove_suffix(1);
  }
  auto token = core::ParseKeyToken(credentials);
  if (!token) return BadKey("Malformed API key: expected lf_<key_id>_<secret>");
  auto key = keys_.GetKey(token->key_id);
  if (!key.ok()) return key.status();
  // Hash before deciding, so unknown and wrong keys take the same path.
  std::string presented = events::Sha256Hex(token->secret);
  if (!key->has_value() || !ConstantTimeEquals(presented, (*key)->secret_hash)) {
    return BadKey("Unknown API key");
  }
  if ((*key)->revoked) return BadKey("API key has been revoked");
  return Caller{(*key)->org, (*key)->key_id, (*key)->role, ""};
}

Status KeyService::EnsureOrg(const Caller& by, std::string_view org) {
  auto exists = keys_.OrgExists(org);
  if (!exists.ok()) return exists.status();
  if (*exists) return Status::Ok();
  // Org ids are slugs: safe to splice into JSON.
  auto result = store_.Append(OneEvent(by, org, core::OrgStream(org), events::kNoStream,
                                       core::kOrgCreated,
                                       "{\"org\":\"" + std::string(org) + "\"}"));
  // A concurrent creator of the same org is fine.
  if (!result.ok() && result.status().code() != StatusCode::kConflict) return result.status();
  return Status::Ok();
}

StatusOr<CreatedKey> KeyService::CreateKey(const Caller& by, std::string_view org,
                                           std::string_view name, core::Role role,
                                           std::optional<std::string> idempotency_key) {
  if (!core::IsValidOrgId(org)) {
    return InvalidArgument("Organisation ids are 1-64 characters of a-z, 0-9, _ and -");
  }
  // Nobody grants more than they hold, and only owners grant admin or owner.
  if (role > by.role || (role >= core::Role::kAdmin && by.role != core::Role::kOwner)) {
    return PermissionDenied(std::string("An ") + core::RoleName(by.role) +
                            " key cannot create an " + core::RoleName(role) + " key")
        .WithReason("forbidden");
  }
  if (name.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return InvalidArgument("'name' (a label for the key) is required").WithReason("invalid_field");
  }
  if (utf8::CodePoints(name) > 200) {
    return InvalidArgument("'name' is longer than 200 characters").WithReason("invalid_field");
  }
  LF_RETURN_IF_ERROR(EnsureOrg(by, org));

  const std::string key_id = idempotency_key ? IdempotentKeyId(org, *idempotency_key)
                                             : "key_" + RandomHex(kKeyIdBytes);
  const std::string fingerprint = CreateFingerprint(name, role);
  std::string secret = RandomHex(kSecretBytes);
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  w.Key("key_id"); w.String(key_id.c_str());
  w.Key("name"); w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  w.Key("role"); w.String(core::RoleName(role));
  w.Key("secret_hash"); w.String(events::Sha256Hex(secret).c_str());
  if (idempotency_key) {
    w.Key("idempotency_key");
    w.String(idempotency_key->data(), static_cast<rapidjson::SizeType>(idempotency_key->size()));
    w.Key("request_fingerprint"); w.String(fingerprint.c_str());
  }
  w.EndObject();

  auto result = store_.Append(OneEvent(by, org, core::KeyStream(key_id), events::kNoStream,
                                       core::kKeyCreated, std::string(b.GetString(), b.GetSize())));
  if (!result.ok()) {
    if (idempotency_key && result.status().code() == StatusCode::kConflict) {
      return ReplayCreate(by, org, key_id, fingerprint);
    }
    return result.status();
  }
  auto key = keys_.GetKey(key_id);
  if (!key.ok()) return key.status();
  if (!key->has_value()) return Internal("created key is not readable");
  return CreatedKey{std::move(**key), core::FormatKeyToken(key_id, secret)};
}

StatusOr<CreatedKey> KeyService::ReplayCreate(const Caller& by, std::string_view org,
                                              const std::string& key_id,
                                              const std::string& fingerprint) {
  const std::string stream = core::KeyStream(key_id);
  auto history = store_.ReadStream(stream);
  if (!history.ok()) return history.status();
  if (history->empty() || history->front().org != org) {
    return Internal("idempotent key stream " + stream + " is not this organisation's");
  }
  auto created = json::Parse(history->front().data);
  if (!created.ok()) return DataLoss("key.created of " + key_id + " is unreadable");
  if (json::GetString(*created, "request_fingerprint").value_or("") != fingerprint) {
    return Conflict("This Idempotency-Key was used for a key with another name or role")
        .WithReason("idempotency_key_reused");
  }
  for (const events::Event& e : *history) {
    if (e.type == core::kKeyRevoked) {
      return Conflict("The key created under this Idempotency-Key has been revoked")
          .WithReason("idempotency_key_reused");
    }
  }
  std::string secret = RandomHex(kSecretBytes);
  auto replaced = store_.Append(OneEvent(
      by, org, stream, history->back().stream_version, core::kKeySecretReplaced,
      "{\"secret_hash\":\"" + events::Sha256Hex(secret) + "\"}"));
  if (!replaced.ok()) {
    // Another retry replaced it first: that retry's answer holds the secret.
    if (replaced.status().code() == StatusCode::kConflict) {
      return Conflict("A concurrent retry under this Idempotency-Key is being answered")
          .WithReason("idempotency_key_in_use");
    }
    return replaced.status();
  }
  auto key = keys_.GetKey(key_id);
  if (!key.ok()) return key.status();
  if (!key->has_value()) return Internal("replayed key is not readable");
  return CreatedKey{std::move(**key), core::FormatKeyToken(key_id, secret), true};
}

Status KeyService::RevokeKey(const Caller& by, std::string_view key_id) {
  std::lock_guard<std::mutex> lock(revoke_mu_);
  auto key = keys_.GetKey(key_id);
  if (!key.ok()) return key.status();
  if (!key->has_value() || (*key)->org != by.org) return NotFound("API key not found");
  const core::Role role = (*key)->role;
  // The rule of CreateKey: only an owner touches admin and owner keys.
  if (role > by.role || (role >= core::Role::kAdmin && by.role != core::Role::kOwner)) {
    return PermissionDenied(std::string("An ") + core::RoleName(by.role) +
                            " key cannot revoke an " + core::RoleName(role) + " key")
        .WithReason("forbidden");
  }
  if ((*key)->revoked) return Status::Ok();
  if (role == core::Role::kOwner) {
    auto keys = keys_.ListKeys(by.org);
    if (!keys.ok()) return keys.status();
    const auto active_owners = std::count_if(keys->begin(), keys->end(), [](const auto& k) {
      return k.role == core::Role::kOwner && !k.revoked;
    });
    if (active_owners <= 1) {
      return Conflict("This is the organisation's last owner key; create another owner key "
                      "before revoking it")
          .WithReason("last_owner_key");
    }
  }
  auto result = store_.Append(OneEvent(by, by.org, core::KeyStream(key_id), events::kAnyVersion,
                                       core::kKeyRevoked, "{}"));
  return result.ok() ? Status::Ok() : result.status();
}

bool KeyService::IsActive(std::string_view key_id) const {
  auto key = keys_.GetKey(key_id);
  return key.ok() && key->has_value() && !(*key)->revoked;
}

StatusOr<std::vector<projections::KeyView>> KeyService::ListKeys(const Caller& by) const {
  return keys_.ListKeys(by.org);
}

}  // namespace ledgerflow::service
