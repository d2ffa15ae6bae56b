#include "transport/order_scope.h"

#include <sodium.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace ordergate {

void AppendStoreKey(absl::string_view identity, absl::string_view uuid, std::string* out) {
  if (!identity.empty()) {
    out->append(identity.data(), identity.size());
    out->push_back('\0');
  }
  out->append(uuid.data(), uuid.size());
}

void AppendBridgeUuid(absl::string_view identity, absl::string_view uuid, std::string* out) {
  if (identity.empty()) {
    out->append(uuid.data(), uuid.size());
    return;
  }
  if (sodium_init() < 0) std::abort();  // idempotent; no hash: nothing here can work
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  const unsigned char nul = 0;
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(identity.data()),
                            identity.size());
  crypto_hash_sha256_update(&state, &nul, 1);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(uuid.data()),
                            uuid.size());
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  constexpr size_t kBytes = 16;  // 128 bits, 32 hex digits
  char hex[2 * kBytes + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, kBytes);
  out->append("og");
  out->append(hex, 2 * kBytes);
}

ScopedUuid SplitStoreKey(absl::string_view key) {
  const size_t nul = key.find('\0');
  if (nul == absl::string_view::npos) return ScopedUuid{{}, key};
  return ScopedUuid{key.substr(0, nul), key.substr(nul + 1)};
}

std::string OrderLabel(absl::string_view key) {
  const ScopedUuid s = SplitStoreKey(key);
  if (s.identity.empty()) return std::string(s.uuid);
  return absl::StrCat(s.identity, "/", s.uuid);
}

}  // namespace ordergate
