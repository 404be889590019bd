// Randomness for ids and key secrets (OpenSSL's CSPRNG) and constant-time comparison.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ledgerflow::service {

// `bytes` random bytes from the CSPRNG, as lowercase hex (2 * bytes characters).
std::string RandomHex(size_t bytes);

// An id that sorts by creation time: `now_ms` as 12 hex digits (48 bits, good until the
// year 10889), then `random_bytes` from the CSPRNG as hex. Ids made in order are keys
// that RocksDB inserts and compacts in order; the random part keeps them unique and
// unguessable within a millisecond.
std::string TimeOrderedHex(int64_t now_ms, size_t random_bytes);

// Compares equal-length secrets without leaking where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ledgerflow::service
