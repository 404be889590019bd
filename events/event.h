// The stored event envelope and the shape of an append. Plain values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"

namespace ledgerflow::events {

using Position = uint64_t;  // global, gap-free, first event is 1
using Version = uint64_t;   // per stream, first event is 1

// How an event's hash is computed, stored in the envelope as "chain" (absent for kChainV1).
// Written to disk and hashed: never renumber.
inline constexpr int kChainV1 = 1;  // SHA-256(prev_hash || CanonicalBytes(event))
inline constexpr int kChainJcs = 2;  // SHA-256(prev_hash || RFC 8785 JCS(event without "hash"))

// Expected-version sentinels for Append.
inline constexpr Version kAnyVersion = UINT64_MAX;  // no check
inline constexpr Version kNoStream = 0;             // the stream must not exist yet

// One event as stored: written once, never changed.
struct Event {
  Position position = 0;
  std::string stream;
  Version stream_version = 0;
  std::string type;            // registered, stable name, e.g. "workflow.created"
  int schema_version = 1;
  std::string org;
  std::string actor;           // API key id, or "system"
  int64_t at_ms = 0;           // UTC milliseconds since the epoch
  std::string request_id;
  std::optional<Position> causation;
  std::string data;            // compact JSON text
  std::string prev_hash;       // hex SHA-256 of the org's previous event ("" for the first)
  std::string hash;            // hex SHA-256 of prev_hash and the event, as `chain` says
  int chain = kChainV1;        // hash recipe: kChainV1 or kChainJcs (see events/chain.h)
  // `data` already parsed, when its producer in this process handed it over (see
  // NewEvent::parsed_data): commit listeners use it instead of parsing `data` again.
  // Empty for events read back from the log. Not part of the stored event.
  std::shared_ptr<const json::Document> parsed_data = nullptr;
};

// An event to append; the store fills in position, version, time and hashes.
struct NewEvent {
  std::string type;
  int schema_version = 1;
  std::string data;  // compact JSON text (an object)
  std::optional<Position> causation;
  // The producer wrote `data` with rapidjson::Writer from a document that json::Parse
  // read (so it is compact, in member order, with numbers as they re-serialize): the
  // store then only checks what that can still get wrong (see CheckWriterJson) instead
  // of parsing and re-serializing it.
  bool written_by_writer = false;
  // Optional: `data` parsed (json::Parse of exactly `data`), passed on to the commit
  // listener with the committed event. Parsing on the producer's thread keeps it off
  // the store's single writer thread.
  std::shared_ptr<const json::Document> parsed_data = nullptr;
};

// Events appended atomically to one stream.
struct AppendRequest {
  std::string stream;
  Version expected_version = kAnyVersion;
  std::string org;
  std::string actor;
  std::string request_id;
  std::vector<NewEvent> events;
};

struct AppendResult {
  Position first_position = 0;
  Position last_position = 0;
  Version stream_version = 0;  // version of the stream after the append
};

}  // namespace ledgerflow::events
