#include "api/key_routes.h"

#include "api/request_parsing.h"
#include "core/time_format.h"

namespace ledgerflow::api {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Method;

// The public view of a key: never the secret, never its hash.
json::Value KeyObject(const projections::KeyView& k, json::Allocator& a) {
  json::Value v(rapidjson::kObjectType);
  v.AddMember("id", json::String(k.key_id, a), a);
  v.AddMember("name", json::String(k.name, a), a);
  v.AddMember("role", rapidjson::StringRef(core::RoleName(k.role)), a);
  v.AddMember("created_at", json::String(core::FormatRfc3339Millis(k.created_at_ms), a), a);
  v.AddMember("created_by", json::String(k.created_by, a), a);
  v.AddMember("revoked", k.revoked, a);
  if (k.revoked) {
    v.AddMember("revoked_at", json::String(core::FormatRfc3339Millis(k.revoked_at_ms), a), a);
  }
  return v;
}

void CreateKey(service::KeyService& keys, ApiRequest& req, ResponderPtr out) {
  auto body = ParseObjectBody(req);
  if (!body.ok()) return out->SendError(body.status());
  if (Status known = RefuseUnknownFields(*body, {"name", "role"}); !known.ok()) {
    return out->SendError(known);
  }
  auto name = OptionalString(*body, "name");
  if (!name.ok()) return out->SendError(name.status());
  auto role_name = OptionalString(*body, "role");
  if (!role_name.ok()) return out->SendError(role_name.status());
  auto role = core::ParseRole(role_name->value_or(""));
  if (!role) {
    return out->SendError(InvalidArgument("'role' must be one of viewer, editor, admin, owner")
                              .WithReason("invalid_field"));
  }
  auto idempotency_key = IdempotencyKeyHeader(req);
  if (!idempotency_key.ok()) return out->SendError(idempotency_key.status());
  auto created = keys.CreateKey(req.caller, req.caller.org, name->value_or(""), *role,
                                std::move(*idempotency_key));
  if (!created.ok()) return out->SendError(created.status());
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("key", KeyObject(created->key, a), a);
  doc.AddMember("secret", json::String(created->token, a), a);
  out->AddHeader("Location", "/api/keys/" + created->key.key_id);
  if (created->replayed) out->AddHeader("Idempotent-Replayed", "true");
  out->SendJson(Code::Created, doc);
}

void ListKeys(service::KeyService& keys, ApiRequest& req, ResponderPtr out) {
  auto list = keys.ListKeys(req.caller);
  if (!list.ok()) return out->SendError(list.status());
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  json::Value items(rapidjson::kArrayType);
  for (const auto& k : *list) items.PushBack(KeyObject(k, a), a);
  doc.AddMember("keys", items, a);
  out->SendJson(Code::Ok, doc);
}

void RevokeKey(service::KeyService& keys, ApiRequest& req, ResponderPtr out) {
  Status s = keys.RevokeKey(req.caller, req.param("id"));
  if (!s.ok()) return out->SendError(s);
  out->SendJsonText(Code::Ok, R"({"ok":true})");
}

}  // namespace

void AddKeyRoutes(Router& router, service::KeyService& keys) {
  auto bind = [&keys](void (*fn)(service::KeyService&, ApiRequest&, ResponderPtr)) {
    return [&keys, fn](ApiRequest& req, ResponderPtr out) { fn(keys, req, std::move(out)); };
  };
  router.Add({Method::Post, "/api/keys", core::Role::kAdmin, bind(CreateKey),
              {.summary = "Create an API key",
               .tag = "Keys",
               .operation_id = "createKey",
               .parameters = {"IdempotencyKey"},
               .request = {{.schema = "CreateKeyRequest"}},
               .responses = {{.status = 201,
                              .content = {{.schema = "CreatedKey"}},
                              .headers = {"Location", "Idempotent-Replayed"}}},
               .errors = {409},
               .description = "The secret is in this answer only; the server keeps its "
                              "hash. A caller creates keys up to its own role. A retry "
                              "with the same Idempotency-Key and body answers the same "
                              "key with a new secret that replaces the first (only "
                              "hashes are stored; the first secret was never received, "
                              "or there would be no retry); the same key with another "
                              "name or role, or once the key is revoked, is 409 "
                              "idempotency_key_reused (and a retry racing another "
                              "retry of it, 409 idempotency_key_in_use)."}});
  router.Add({Method::Get, "/api/keys", core::Role::kAdmin, bind(ListKeys),
              {.summary = "List the organisation's keys",
               .tag = "Keys",
               .operation_id = "listKeys",
               .responses = {{.content = {{.schema = "KeyList"}}}},
               .description = "Never their secrets."}});
  router.Add({Method::Delete, "/api/keys/:id", core::Role::kAdmin, bind(RevokeKey),
              {.summary = "Revoke a key",
               .tag = "Keys",
               .operation_id = "revokeKey",
               .responses = {{.content = {{.schema = "Ok"}}}},
               .errors = {409},
               .description = "Refused from the next request on. The organisation's last "
                              "active owner key cannot be revoked (409 last_owner_key)."}});
}

}  // namespace ledgerflow::api
