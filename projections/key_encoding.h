// Byte encodings for read-model keys: big-endian integers so that byte order is
// numeric order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ledgerflow::projections {

inline std::string EncodeBigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

inline uint64_t DecodeBigEndian64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  }
  return v;
}

}  // namespace ledgerflow::projections
