// Reading request bodies and parameters into typed values, with the error messages
// clients see. Everything returns InvalidArgument naming the field.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/router.h"
#include "core/json.h"

namespace ledgerflow::api {

// The body as a JSON object ("malformed_json" / "invalid_body" otherwise).
StatusOr<json::Document> ParseObjectBody(const ApiRequest& request);

// InvalidArgument ("invalid_body") naming the first member of `body` not in `known`.
Status RefuseUnknownFields(const json::Value& body,
                           std::initializer_list<std::string_view> known);

// Optional typed members of a body object: nullopt when absent (or null), an error
// when present with the wrong type.
StatusOr<std::optional<std::string>> OptionalString(const json::Value& body, const char* field);
StatusOr<std::optional<int64_t>> OptionalInt(const json::Value& body, const char* field);
StatusOr<std::optional<std::vector<std::string>>> OptionalStringArray(const json::Value& body,
                                                                      const char* field);

// A query parameter as an integer in [min, max]; `fallback` when absent.
StatusOr<int64_t> QueryInt(const ApiRequest& request, const char* name, int64_t fallback,
                           int64_t min, int64_t max);
// A required integer query parameter in [min, max].
StatusOr<int64_t> RequiredQueryInt(const ApiRequest& request, const char* name, int64_t min,
                                   int64_t max);

// The version in an If-Match header ("3", "\"3\"", W/"3"); nullopt when absent or
// "*"; InvalidArgument when unreadable.
StatusOr<std::optional<int64_t>> IfMatchVersion(const ApiRequest& request);

// If-Match and a body's expected_version together; they must agree.
StatusOr<std::optional<int64_t>> ExpectedVersion(const ApiRequest& request,
                                                 const json::Value* body);

// A path or query integer such as a version number.
// Whether an If-None-Match value ("*", or a list of entity tags, weak or strong) names
// `etag`, by the weak comparison RFC 9110 (13.1.2) prescribes for it.
bool IfNoneMatchHits(std::string_view if_none_match, std::string_view etag);

// Hex SHA-256 of `v` serialized with every object's members sorted by name: the same
// for two bodies that differ only in member order or white space.
std::string Fingerprint(const json::Value& v);

// The Idempotency-Key header: absent, or 1 to 255 visible ASCII characters.
StatusOr<std::optional<std::string>> IdempotencyKeyHeader(const ApiRequest& request);

StatusOr<int64_t> ParseInt(std::string_view text, const char* what, int64_t min, int64_t max);

}  // namespace ledgerflow::api
