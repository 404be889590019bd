// The stored form of an event: one compact JSON object per line, fields in a fixed
// order (written to disk and hashed: never reorder or rename). Stateless, thread-safe.
//
//   {"position":1,"stream":"workflow-x","stream_version":1,"type":"workflow.created",
//    "schema_version":1,"org":"org_1","actor":"key_1","at":"2026-11-23T20:01:02.123Z",
//    "request_id":"req_1","causation":7,"data":{...},"prev_hash":"","chain":2,
//    "hash":"9f86..."}
//
// `causation` is omitted when absent, `chain` for kChainV1 events; `data` is embedded as JSON, not as a string.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "events/event.h"

namespace ledgerflow::events {

// The canonical form of a JSON text: parsed iteratively with full number precision and
// UTF-8 validation, at most json::kMaxDepth deep, re-serialized compactly by
// rapidjson::Writer. Canonicalizing canonical text returns it unchanged, so data that
// went through here survives EncodeEvent -> DecodeEvent byte for byte (hashes verify).
// Returns InvalidArgument (reason "malformed_json") on malformed or invalid UTF-8 input.
StatusOr<std::string> CanonicalizeJson(std::string_view json);

// For JSON text that rapidjson::Writer wrote from a document json::Parse read, which is
// canonical but for two things the check finds without parsing: invalid UTF-8 (a lone
// surrogate escape such as "\udc00" parses to bytes that are not UTF-8, and the Writer
// copies them) and nesting deeper than json::kMaxDepth (data wraps parsed values one
// level deeper). Also refuses text that is not one object. InvalidArgument, reason
// "malformed_json", like CanonicalizeJson.
Status CheckWriterJson(std::string_view json);

// The stored line (no trailing newline). Precondition: `event.data` is canonical
// (CanonicalizeJson output, as every event read from the store is); empty data is
// written as {}.
std::string EncodeEvent(const Event& event);

// EncodeEvent without the "hash" field: the bytes the hash covers.
std::string CanonicalBytes(const Event& event);

// Appends CanonicalBytes(event) to `*out` (the write path reuses one buffer).
void AppendCanonicalBytes(const Event& event, std::string* out);

// Turns `*canonical_bytes` (CanonicalBytes of an event) into EncodeEvent of that event
// with hash `hash` (lowercase hex), in place: saves encoding twice on the write path.
void AppendHashField(std::string* canonical_bytes, std::string_view hash);

// EncodeEvent(event) for an event whose CanonicalBytes are already at hand and whose
// hash is `hash` (lowercase hex).
std::string EncodeWithHash(std::string_view canonical_bytes, std::string_view hash);

// Appends the bytes a kChainJcs event's hash covers after its prev_hash: RFC 8785 JCS
// of the JSON object EncodeEvent writes, without its "hash" member (so with "chain":2).
// Uses `event.parsed_data` when set. Returns InvalidArgument when `data` does not parse.
Status AppendJcsHashInput(const Event& event, std::string* out);

// Parses a line produced by EncodeEvent (member order is not checked; unknown members
// are ignored). Returns InvalidArgument naming what is wrong: malformed JSON, a missing
// or mistyped field, a bad timestamp. `data` comes back in canonical form.
StatusOr<Event> DecodeEvent(std::string_view line);

}  // namespace ledgerflow::events
