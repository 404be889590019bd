// Small helpers around RapidJSON shared by every module: safe parsing of untrusted
// text, serialization, deep copy and typed lookups. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "core/status.h"

namespace ledgerflow::json {

using Value = rapidjson::Value;
using Document = rapidjson::Document;
using Allocator = rapidjson::Document::AllocatorType;

// Deepest nesting accepted from untrusted input; deeper documents are refused
// so that recursive walks (diff, validation, serialization) cannot overflow the stack.
inline constexpr int kMaxDepth = 64;

// Parses `text` iteratively (no recursion), validating UTF-8 and keeping full
// number precision. Returns InvalidArgument (reason "malformed_json") naming the
// offset of a syntax error, when nesting exceeds kMaxDepth, or when a string holds a
// lone surrogate escape (which would decode to bytes that are not UTF-8).
StatusOr<Document> Parse(std::string_view text);

// Compact serialization; RapidJSON keeps member order, so Serialize(Parse(s)) is
// stable for anything Serialize produced.
std::string Serialize(const Value& value);
std::string SerializePretty(const Value& value);

// Deep copy of `value` into a new document.
Document Clone(const Value& value);

// The member `key` of the object `doc`, as a document of its own, without copying:
// it keeps `doc`'s memory pool and the member becomes its root. `doc`'s other members
// are not readable afterwards. A null document when the member is absent.
Document TakeMember(Document&& doc, std::string_view key);

// Nesting depth of `value` (a scalar is 0).
int Depth(const Value& value);

// Where an object of `value` holds a member name twice, first in document order: the
// JSON Pointer of that object and the name. RFC 8259 leaves duplicates to the
// reader (JavaScript and Python keep the last, lookups here find the first), so
// untrusted input with any is refused rather than validated on one copy and read by
// a client on the other. Recursion is bounded by kMaxDepth for parsed documents.
struct DuplicateKey {
  std::string object_pointer;
  std::string name;
};
std::optional<DuplicateKey> FindDuplicateKey(const Value& value);

// The JSON Pointer of the first number in the JSON text `text` that I-JSON (RFC 7493)
// rules out: an integer literal beyond +-(2^53-1), or a number whose magnitude overflows
// a double (1e400). nullopt when there is none, or when `text` is not JSON (Parse says
// why). One SAX pass, numbers read as text.
std::optional<std::string> FindNonInteroperableNumber(std::string_view text);

// Typed member lookups; nullopt when absent or of another type.
const Value* Find(const Value& object, std::string_view key);
std::optional<std::string> GetString(const Value& object, std::string_view key);
std::optional<int64_t> GetInt(const Value& object, std::string_view key);
std::optional<bool> GetBool(const Value& object, std::string_view key);

// A Value holding a copy of `s`.
inline Value String(std::string_view s, Allocator& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

// Name of the JSON type ("object", "array", "string", "number", "boolean", "null").
const char* TypeName(const Value& value);

}  // namespace ledgerflow::json
