// Shared by the libFuzzer targets: property checks that stop the run on a violation.
//
//   FUZZ_CHECK(req.volume > 0);   // __builtin_trap() when false: libFuzzer saves the input
//
// A property failure must look like a crash to libFuzzer, so that it minimises and saves the input
// as crash-<sha1>; __builtin_trap() gives SIGILL, which it treats exactly so. The message says
// which property broke, since a trap carries none.
#ifndef ORDERGATE_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define ORDERGATE_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <simdjson.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "fuzz property violated at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                         \
    }                                                                                           \
  } while (0)

namespace ordergate::fuzz {

// 2026-11-25T09:35:52.123456Z: a fixed clock, so that a risk_signature in the corpus stays fresh
// and every run of an input decodes the same way.
constexpr int64_t kNowUnixUs = 1795599352123456;

inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// The contract's uuid rule, written out again here rather than calling IsValidClientOrderId, so
// that the fuzzer cross-checks the codec against the text of docs/protocol.md: 1-64 characters of
// [A-Za-z0-9._:-].
inline bool ContractUuid(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

inline bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// The last member named `key` of `obj` (Python's json keeps the last one; the bridge is Python).
inline bool LastMember(simdjson::dom::object obj, std::string_view key,
                       simdjson::dom::element* out) {
  bool found = false;
  for (simdjson::dom::key_value_pair kv : obj) {
    if (kv.key == key) {
      *out = kv.value;
      found = true;
    }
  }
  return found;
}

// A fresh, independent parser (default depth 1024), so its verdict does not depend on the
// codec's thread_local one. Returns false when `text` is not one JSON document.
inline bool ParseIndependently(simdjson::dom::parser& parser, std::string_view text,
                               simdjson::dom::element* root) {
  return parser.parse(text.data(), text.size(), true).get(*root) == simdjson::SUCCESS;
}

}  // namespace ordergate::fuzz

#endif  // ORDERGATE_TESTS_FUZZ_FUZZ_SUPPORT_H_
