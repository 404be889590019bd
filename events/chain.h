// Per-org hash chains over the event log. Each org's events link to that org's previous
// event (the first event of an org has prev_hash ""), and hash = lowercase hex SHA-256 of
// the UTF-8 bytes of prev_hash (hex text) followed by
//   - chain 2 ("chain":2 in the event, every event written now): RFC 8785 JCS of the
//     event's JSON object (EncodeEvent, as the audit API shows it) without "hash";
//   - chain 1 (no "chain" member, events written before): CanonicalBytes(event), the
//     stored line without its "hash" member.
// An org's history (or export) therefore verifies without any other org's events.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "events/event.h"

namespace ledgerflow::events {

// Lowercase hex SHA-256 of `a` followed by `b`. Thread-safe.
std::string Sha256Hex(std::string_view a, std::string_view b = {});

// The hash `event` must carry when its org's previous hash is `prev_hash`, by the recipe
// `event.chain` names (event.hash is ignored; event.prev_hash is part of the hashed
// bytes). "" when a kChainJcs event's data does not parse. Thread-safe.
std::string ComputeHash(std::string_view prev_hash, const Event& event);

// The last event of one org's chain.
struct ChainHead {
  Position position = 0;
  std::string hash;
};

// Checks a sequence of events, fed in log order, one org chain at a time:
// positions strictly increase (gaps are fine: an org export skips other orgs), each
// prev_hash is the hash of the org's previous event ("" for its first), each hash is
// ComputeHash(prev_hash, event). Not thread-safe.
class ChainVerifier {
 public:
  ChainVerifier() = default;

  // Starts `org`'s chain after a known head instead of at "" (to verify a log suffix);
  // later events must come after `head.position`.
  void SeedHead(const std::string& org, ChainHead head);

  // Checks one event. Returns DataLoss "chain broken at position N: <why>" at the first
  // bad event; after that every call returns that same error.
  Status Feed(const Event& event);

  // Events accepted so far.
  uint64_t checked() const { return checked_; }
  // Position of the last accepted event (0 before any).
  Position last_position() const { return last_position_; }
  // Head of every org seen, by org.
  const std::map<std::string, ChainHead, std::less<>>& heads() const { return heads_; }
  // Head of one org; nullopt if no event of it was seen.
  std::optional<ChainHead> head(std::string_view org) const;

 private:
  std::map<std::string, ChainHead, std::less<>> heads_;
  Position last_position_ = 0;
  uint64_t checked_ = 0;
  Status error_;
};

}  // namespace ledgerflow::events
