// Randomness for ids and key secrets (OpenSSL's CSPRNG) and constant-time comparison.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ledgerflow::service {

// `bytes` random bytes from the CSPRNG, as lowercase hex (2 * bytes characters).
std::string RandomHex(size_t bytes);

// Compares equal-length secrets without leaking where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ledgerflow::service
