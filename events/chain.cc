#include "events/chain.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "events/codec.h"

namespace ledgerflow::events {
namespace {

// Fetched once: OpenSSL 3's implicit fetch through EVP_sha256() costs a lookup per call.
const EVP_MD* Sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::string Sha256Hex(std::string_view a, std::string_view b) {
  // One context per thread, reset per digest: no allocation on the write path.
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // These calls fail only on allocation failure or a broken OpenSSL install, where
  // carrying on would write unverifiable hashes.
  if (!ctx || Sha256() == nullptr || EVP_DigestInit_ex(ctx.get(), Sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    std::fprintf(stderr, "ledgerflow: OpenSSL SHA-256 failed\n");
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

std::string ComputeHash(std::string_view prev_hash, const Event& event) {
  if (event.chain == kChainV1) return Sha256Hex(prev_hash, CanonicalBytes(event));
  thread_local std::string bytes;
  bytes.clear();
  if (event.chain != kChainJcs || !AppendJcsHashInput(event, &bytes).ok()) return "";
  std::string hash = Sha256Hex(prev_hash, bytes);
  if (bytes.capacity() > (size_t{64} << 10)) std::string().swap(bytes);
  return hash;
}

void ChainVerifier::SeedHead(const std::string& org, ChainHead head) {
  last_position_ = std::max(last_position_, head.position);
  heads_[org] = std::move(head);
}

std::optional<ChainHead> ChainVerifier::head(std::string_view org) const {
  auto it = heads_.find(org);
  if (it == heads_.end()) return std::nullopt;
  return it->second;
}

Status ChainVerifier::Feed(const Event& event) {
  if (!error_.ok()) return error_;
  auto broken = [&](std::string why) {
    error_ = DataLoss("chain broken at position " + std::to_string(event.position) + ": " +
                      why);
    return error_;
  };
  if (event.position <= last_position_) {
    return broken("position does not follow " + std::to_string(last_position_));
  }
  auto it = heads_.find(event.org);
  const std::string& expected_prev = it == heads_.end() ? std::string() : it->second.hash;
  if (event.prev_hash != expected_prev) {
    return broken(it == heads_.end()
                      ? "first event of org '" + event.org + "' has a non-empty prev_hash"
                      : "prev_hash does not match the hash of org '" + event.org +
                            "' event at position " + std::to_string(it->second.position));
  }
  if (ComputeHash(event.prev_hash, event) != event.hash) {
    return broken("hash does not match the event's contents");
  }
  last_position_ = event.position;
  ++checked_;
  if (it == heads_.end()) {
    heads_.emplace(event.org, ChainHead{event.position, event.hash});
  } else {
    it->second = ChainHead{event.position, event.hash};
  }
  return Status::Ok();
}

}  // namespace ledgerflow::events
