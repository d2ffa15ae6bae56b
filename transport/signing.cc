#include "transport/signing.h"

#include <sodium.h>

#include <cstdlib>

#include "transport/codec.h"

namespace ordergate {
namespace {

void EnsureSodium() {
  // sodium_init() is itself idempotent and thread-safe; the static only skips the call afterwards.
  static const bool initialised = [] {
    if (sodium_init() < 0) std::abort();  // no CSPRNG/hash: nothing here can work
    return true;
  }();
  (void)initialised;
}

}  // namespace

Fingerprint FingerprintOf(absl::string_view canonical_fields) {
  EnsureSodium();
  Fingerprint fp;
  crypto_hash_sha256(fp.data(), reinterpret_cast<const unsigned char*>(canonical_fields.data()),
                     canonical_fields.size());
  return fp;
}

void AppendRiskSignature(absl::string_view canonical_fields, int64_t now_unix_us,
                         std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const Fingerprint fp = FingerprintOf(canonical_fields);
  char checksum[16];
  for (size_t i = 0; i < 8; ++i) {
    checksum[2 * i] = kHex[fp[i] >> 4];
    checksum[2 * i + 1] = kHex[fp[i] & 0xF];
  }
  out->append("RISK_PASS:");
  out->append(checksum, sizeof(checksum));
  out->push_back(':');
  // Basic form: the bridge splits on ':' and needs exactly three parts.
  AppendIsoTimestamp(now_unix_us, /*basic=*/true, out);
}

}  // namespace ordergate
