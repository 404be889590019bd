// Internal to events/: key layout of the RocksDB column families and the one place
// where rocksdb::Status becomes a ledgerflow Status. Keys are big-endian so that byte
// order is numeric order. Written to disk: never change a layout, add a new key kind.
//
//   "default"     "format" -> "2"; "log_head" -> BE64 last position written with the
//                 org heads; "org_head/<org>" -> BE64 position + hex hash;
//                 "stream_head/<stream>" -> BE64 version of the stream's last event
//                 (format 2; written in the same batch as the streams keys)
//   "events"      BE64 position -> EncodeEvent line
//   "streams"     stream + '\0' + BE64 stream_version -> BE64 position
//   "projections" opaque keys of the KvStore
//
// Formats: "1" had no stream heads; opening it backfills them from the streams family
// and then writes "2". A build that reads only "1" refuses a "2" directory, so no old
// binary can append without maintaining the heads.
#pragma once

#include <rocksdb/status.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "events/event.h"

namespace ledgerflow::events::internal {

inline constexpr char kFormatKey[] = "format";
inline constexpr char kFormatVersion[] = "2";
inline constexpr char kFormatWithoutStreamHeads[] = "1";
inline constexpr char kLogHeadKey[] = "log_head";
inline constexpr char kOrgHeadPrefix[] = "org_head/";
inline constexpr char kStreamHeadPrefix[] = "stream_head/";

// Writes `v` to dst[0..8).
inline void EncodeBigEndian64(char* dst, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    dst[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

inline void PutBigEndian64(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeBigEndian64(buf, v);
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

inline std::string StreamHeadKey(std::string_view stream) {
  return std::string(kStreamHeadPrefix).append(stream);
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
