// Internal to events/: key layout of the RocksDB column families and the one place
// where rocksdb::Status becomes a ledgerflow Status. Keys are big-endian so that byte
// order is numeric order. Written to disk: never change a layout, add a new key kind.
//
//   "default"     "format" -> "1"; "log_head" -> BE64 last position written with the
//                 org heads; "org_head/<org>" -> BE64 position + hex hash
//   "events"      BE64 position -> EncodeEvent line
//   "streams"     stream + '\0' + BE64 stream_version -> BE64 position
//   "projections" opaque keys of the KvStore
#pragma once

#include <rocksdb/status.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "events/event.h"

namespace ledgerflow::events::internal {

inline constexpr char kFormatKey[] = "format";
inline constexpr char kFormatVersion[] = "1";
inline constexpr char kLogHeadKey[] = "log_head";
inline constexpr char kOrgHeadPrefix[] = "org_head/";

inline void PutBigEndian64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

inline uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

inline std::string PositionKey(Position position) {
  std::string key;
  PutBigEndian64(&key, position);
  return key;
}

// All keys of `stream` start with this; '\0' cannot occur in a stream name.
inline std::string StreamPrefix(std::string_view stream) {
  std::string key(stream);
  key.push_back('\0');
  return key;
}

inline std::string StreamKey(std::string_view stream, Version version) {
  std::string key = StreamPrefix(stream);
  PutBigEndian64(&key, version);
  return key;
}

inline std::string OrgHeadKey(std::string_view org) {
  return std::string(kOrgHeadPrefix).append(org);
}

// Converts a RocksDB status, prefixing the message with `what` (e.g. "append").
inline Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return NotFound(std::move(message));
  if (s.IsCorruption()) return DataLoss(std::move(message));
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsShutdownInProgress()) {
    return Status(StatusCode::kUnavailable, std::move(message));
  }
  return Internal(std::move(message));
}

}  // namespace ledgerflow::events::internal
