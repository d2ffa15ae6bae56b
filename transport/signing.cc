#include "transport/signing.h"

#include <sodium.h>

#include <cstdlib>

#include "transport/iso_time.h"

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
  const Fingerprint fp = FingerprintOf(canonical_fields);
  // The checksum is the first 8 bytes as 16 lowercase hex digits (docs/protocol.md);
  // sodium_bin2hex writes them and a terminating NUL, which is not appended.
  constexpr size_t kChecksumBytes = 8;
  char checksum[2 * kChecksumBytes + 1];
  sodium_bin2hex(checksum, sizeof(checksum), fp.data(), kChecksumBytes);
  out->append("RISK_PASS:");
  out->append(checksum, 2 * kChecksumBytes);
  out->push_back(':');
  // Basic form: the bridge splits on ':' and needs exactly three parts.
  AppendIsoTimestamp(now_unix_us, /*basic=*/true, out);
}

}  // namespace ordergate
