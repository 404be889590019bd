#include "service/crypto.h"

#include <cstdlib>
#include <cstring>
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

void FillRandom(unsigned char* out, size_t n) {
  // Failure means the OS cannot supply entropy: nothing safe can continue.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
}

// Ids must be unpredictable, not secret: they come from CSPRNG output drawn 256 bytes
// at a time into a buffer of the thread's (one RAND_bytes call per ~40 ids instead of
// one per id). Key secrets never come from here.
void FillRandomForId(unsigned char* out, size_t n) {
  thread_local unsigned char pool[256];
  thread_local size_t used = sizeof pool;
  if (n == 0) return;
  if (n > sizeof pool) return FillRandom(out, n);
  if (sizeof pool - used < n) {
    FillRandom(pool, sizeof pool);
    used = 0;
  }
  std::memcpy(out, pool + used, n);
  used += n;
}

}  // namespace

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  FillRandom(buf.data(), bytes);
  return ToHex(buf.data(), bytes);
}

std::string TimeOrderedHex(int64_t now_ms, size_t random_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(12, '0');
  uint64_t t = static_cast<uint64_t>(now_ms);
  for (int i = 11; i >= 0; --i, t >>= 4) out[static_cast<size_t>(i)] = kHex[t & 0xf];
  std::vector<unsigned char> random(random_bytes);
  FillRandomForId(random.data(), random_bytes);
  return out + ToHex(random.data(), random_bytes);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ledgerflow::service
