#include "projections/key_projection.h"

#include <map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.h"

namespace ledgerflow::projections {
namespace {

// key/<key_id> -> KeyView; keyo/<org>/<key_id> -> "" (index); org/<org> -> "".
std::string KeyKey(std::string_view key_id) { return "key/" + std::string(key_id); }
std::string OrgKeyIndex(std::string_view org, std::string_view key_id) {
  return "keyo/" + std::string(org) + "/" + std::string(key_id);
}
std::string OrgKey(std::string_view org) { return "org/" + std::string(org); }

std::string Encode(const KeyView& k) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  // Lengths given: a name may hold a NUL character.
  auto text = [&w](const std::string& s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("key_id"); text(k.key_id);
  w.Key("org"); text(k.org);
  w.Key("name"); text(k.name);
  w.Key("role"); w.String(core::RoleName(k.role));
  w.Key("secret_hash"); text(k.secret_hash);
  w.Key("created_at_ms"); w.Int64(k.created_at_ms);
  w.Key("created_by"); text(k.created_by);
  w.Key("revoked"); w.Bool(k.revoked);
  w.Key("revoked_at_ms"); w.Int64(k.revoked_at_ms);
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

StatusOr<KeyView> Decode(std::string_view text) {
  auto d = json::Parse(text);
  if (!d.ok()) return DataLoss("unreadable key record");
  KeyView k;
  k.key_id = json::GetString(*d, "key_id").value_or("");
  k.org = json::GetString(*d, "org").value_or("");
  k.name = json::GetString(*d, "name").value_or("");
  k.role = core::ParseRole(json::GetString(*d, "role").value_or("")).value_or(core::Role::kViewer);
  k.secret_hash = json::GetString(*d, "secret_hash").value_or("");
  k.created_at_ms = json::GetInt(*d, "created_at_ms").value_or(0);
  k.created_by = json::GetString(*d, "created_by").value_or("");
  k.revoked = json::GetBool(*d, "revoked").value_or(false);
  k.revoked_at_ms = json::GetInt(*d, "revoked_at_ms").value_or(0);
  return k;
}

}  // namespace

std::vector<std::string> KeyProjection::KeyPrefixes() const { return {"key/", "keyo/", "org/"}; }

Status KeyProjection::Apply(std::span<const events::Event> events, events::KvBatch& batch) {
  std::map<std::string, KeyView> touched;
  for (const events::Event& e : events) {
    if (e.type == core::kOrgCreated) {
      batch.Put(OrgKey(e.org), "");
      continue;
    }
    if (e.type != core::kKeyCreated && e.type != core::kKeyRevoked &&
        e.type != core::kKeySecretReplaced) {
      continue;
    }
    auto data = json::Parse(e.data);
    if (!data.ok()) return DataLoss("event " + std::to_string(e.position) + " is unreadable");
    if (e.type == core::kKeyCreated) {
      KeyView k;
      k.key_id = json::GetString(*data, "key_id").value_or("");
      k.org = e.org;
      k.name = json::GetString(*data, "name").value_or("");
      k.role = core::ParseRole(json::GetString(*data, "role").value_or(""))
                   .value_or(core::Role::kViewer);
      k.secret_hash = json::GetString(*data, "secret_hash").value_or("");
      k.created_at_ms = e.at_ms;
      k.created_by = e.actor;
      touched[k.key_id] = k;
      batch.Put(OrgKeyIndex(e.org, k.key_id), "");
    } else {
      std::string key_id = e.stream.substr(std::string_view("key-").size());
      auto it = touched.find(key_id);
      if (it == touched.end()) {
        auto loaded = GetKey(key_id);
        if (!loaded.ok()) return loaded.status();
        if (!loaded->has_value()) continue;
        it = touched.emplace(key_id, **loaded).first;
      }
      if (e.type == core::kKeyRevoked) {
        it->second.revoked = true;
        it->second.revoked_at_ms = e.at_ms;
      } else {
        it->second.secret_hash = json::GetString(*data, "secret_hash").value_or("");
      }
    }
  }
  for (const auto& [id, k] : touched) {
    batch.Put(KeyKey(id), Encode(k));
    changed_.insert(id);
  }
  return Status::Ok();
}

void KeyProjection::Committed(bool dropped_all) {
  if (changed_.empty() && !dropped_all) return;
  std::unique_lock lock(cache_mu_);
  if (dropped_all) {
    cache_.clear();
  } else {
    for (const auto& id : changed_) cache_.erase(id);
  }
  changed_.clear();
  ++generation_;
}

StatusOr<std::optional<KeyView>> KeyProjection::GetKey(std::string_view key_id) const {
  uint64_t generation;
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(std::string(key_id));
    if (it != cache_.end()) return std::optional<KeyView>(it->second);
    generation = generation_;
  }
  auto loaded = LoadKey(key_id);
  if (!loaded.ok() || !loaded->has_value()) return loaded;
  std::unique_lock lock(cache_mu_);
  // Only cache what no commit has invalidated since it was read.
  if (generation == generation_) {
    if (cache_.size() >= kMaxCachedKeys) cache_.clear();
    cache_.emplace(std::string(key_id), **loaded);
  }
  return loaded;
}

StatusOr<std::optional<KeyView>> KeyProjection::LoadKey(std::string_view key_id) const {
  auto value = kv_.Get(KeyKey(key_id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<KeyView>();
  auto k = Decode(**value);
  if (!k.ok()) return k.status();
  return std::optional<KeyView>(std::move(*k));
}

StatusOr<std::vector<KeyView>> KeyProjection::ListKeys(std::string_view org) const {
  std::vector<std::string> ids;
  std::string prefix = "keyo/" + std::string(org) + "/";
  LF_RETURN_IF_ERROR(kv_.Scan(prefix, "", [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(prefix.size()));
    return true;
  }));
  std::vector<KeyView> out;
  for (const auto& id : ids) {
    auto k = GetKey(id);
    if (!k.ok()) return k.status();
    if (k->has_value()) out.push_back(std::move(**k));
  }
  return out;
}

StatusOr<bool> KeyProjection::OrgExists(std::string_view org) const {
  auto value = kv_.Get(OrgKey(org));
  if (!value.ok()) return value.status();
  return value->has_value();
}

StatusOr<std::vector<std::string>> KeyProjection::ListOrgs() const {
  std::vector<std::string> orgs;
  LF_RETURN_IF_ERROR(kv_.Scan("org/", "", [&](std::string_view key, std::string_view) {
    orgs.emplace_back(key.substr(4));
    return true;
  }));
  return orgs;
}

}  // namespace ledgerflow::projections
