#include "transport/order_scope.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "transport/signing.h"

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
  // SHA-256 of the store key (identity NUL uuid): signing.h's, which sets libsodium up once.
  std::string key;
  AppendStoreKey(identity, uuid, &key);
  const Fingerprint digest = FingerprintOf(key);
  constexpr size_t kBytes = 16;  // 128 bits, 32 hex digits
  char hex[2 * kBytes + 1];
  sodium_bin2hex(hex, sizeof(hex), digest.data(), kBytes);
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
