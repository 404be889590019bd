#include "service/crypto.h"

#include <stdexcept>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace ledgerflow::service {
namespace {

std::string ToHex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  // Failure means the OS cannot supply entropy: nothing safe can continue.
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    std::abort();
  }
  return ToHex(buf.data(), bytes);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ledgerflow::service
