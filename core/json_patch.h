// JSON Patch (RFC 6902), JSON Merge Patch (RFC 7396) and the JSON Pointer (RFC 6901)
// and equality helpers they share with the diff. Stateless functions; thread-safe as
// long as no other thread mutates the same documents.
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"
#include "core/status.h"

namespace ledgerflow {

// Applies the RFC 6902 operations of `patch` (an array of op objects) to `doc`, in order.
// Atomic: on any error `doc` is left unchanged. Returns InvalidArgument with reason
// "invalid_patch" naming the failing op's index and path: malformed op (not an object,
// unknown "op", missing or non-string "path"/"from", missing "value"), a pointer that does
// not resolve (absent member, bad or out-of-range array index, leading zeros), a "move"
// into its own child, or a failed "test" (deep equality, numbers compared by value).
// Values are deep-copied into `doc`'s allocator; `patch` may be freed afterwards.
Status ApplyJsonPatch(json::Document& doc, const json::Value& patch);

// Merges `patch` into `target` per RFC 7396: a null member deletes, an object merges
// recursively, anything else replaces. Fails only on a patch nested deeper than
// json::kMaxDepth (InvalidArgument, reason "invalid_patch"), leaving `target` unchanged.
// `patch` must not point into `target`; its values are deep-copied.
Status ApplyMergePatch(json::Document& target, const json::Value& patch);

// Deep equality as JSON means it: object member order is ignored and numbers compare by
// value (1 equals 1.0). This is the equality of the "test" op.
bool JsonEquals(const json::Value& a, const json::Value& b);

// Like JsonEquals, but numbers must also have the same form (1 and 1.0 differ, as do 0.0
// and -0.0): equal values serialize the same up to member order.
bool JsonIdentical(const json::Value& a, const json::Value& b);

// A deep copy of `value` allocated with `allocator`. Unlike RapidJSON's copy constructor
// it also copies strings held by reference (StringRef), so the copy owns everything.
json::Value DeepCopy(const json::Value& value, json::Allocator& allocator);

// Escapes one reference token for a JSON Pointer ("~" -> "~0", "/" -> "~1").
std::string EscapePointerToken(std::string_view token);

}  // namespace ledgerflow
