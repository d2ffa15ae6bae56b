// Order fingerprints and risk signatures, both SHA-256 (libsodium) over CanonicalOrderFields().
//
//   std::string canon; CanonicalOrderFields(req, &canon);
//   Fingerprint fp = FingerprintOf(canon);                 // idempotency: same order <=> same fp
//   std::string sig; AppendRiskSignature(canon, now_unix_us, &sig);
//   // sig == "RISK_PASS:3f2a...(16 hex):20261125T093552.123456Z"
//
// Thread-safe, non-blocking; libsodium is initialised once on first use.
#ifndef ORDERGATE_TRANSPORT_SIGNING_H_
#define ORDERGATE_TRANSPORT_SIGNING_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ordergate {

using Fingerprint = std::array<uint8_t, 32>;

Fingerprint FingerprintOf(absl::string_view canonical_fields);
inline absl::string_view FingerprintBytes(const Fingerprint& fp) {
  return absl::string_view(reinterpret_cast<const char*>(fp.data()), fp.size());
}

// Appends RISK_PASS:<first 16 hex digits of SHA-256(canonical)>:<basic ISO 8601 UTC of now>.
void AppendRiskSignature(absl::string_view canonical_fields, int64_t now_unix_us, std::string* out);

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_SIGNING_H_
