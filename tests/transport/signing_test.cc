// Canonical order fields, fingerprints and risk signatures (transport/codec.h,
// transport/signing.h).
#include "transport/signing.h"

#include <array>
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "transport/codec.h"
#include "transport/order.h"

namespace ordergate {
namespace {

constexpr int64_t kNow = 1795599352123456;  // 2026-11-25T09:35:52.123456Z

Request MustDecode(std::string_view body) {
  Request req;
  const ErrorCode ec =
      DecodeRequest(absl::string_view(body.data(), body.size()), DecodeLimits{}, kNow, &req);
  INFO(body);
  REQUIRE(ec == ErrorCode::kOk);
  return req;
}

std::string Canonical(const Request& r) {
  std::string out;
  CanonicalOrderFields(r, &out);
  return out;
}

std::string CanonicalOf(std::string_view body) { return Canonical(MustDecode(body)); }

constexpr std::string_view kBase =
    R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1,"sl":1.0,"tp":1.2,"magic":7,"comment":"c"})";

TEST_CASE("Canonical fields are the same for 0.1 and 0.10 and for other spellings of a number",
          "[transport]") {
  const std::string a = CanonicalOf(kBase);
  CHECK(
      a ==
      CanonicalOf(
          R"({"action":"open","uuid":"other","symbol":"EURUSD","type":"buy","volume":0.10,"price":1.10,"sl":1,"tp":12e-1,"magic":7,"comment":"c","timeout_ms":50})"));
  CHECK(a == "OPEN|6:EURUSD|BUY|0.1|1.1|1|1.2|7|1:c");
}

TEST_CASE("Canonical fields differ when any order field differs", "[transport]") {
  const std::string base = CanonicalOf(kBase);
  const std::string_view variants[] = {
      R"({"action":"OPEN","uuid":"u","symbol":"GBPUSD","type":"BUY","volume":0.1,"price":1.1,"sl":1.0,"tp":1.2,"magic":7,"comment":"c"})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"SELL","volume":0.1,"price":1.1,"sl":1.0,"tp":1.2,"magic":7,"comment":"c"})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.2,"price":1.1,"sl":1.0,"tp":1.2,"magic":7,"comment":"c"})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.2,"sl":1.0,"tp":1.2,"magic":7,"comment":"c"})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1,"sl":1.01,"tp":1.2,"magic":7,"comment":"c"})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1,"sl":1.0,"tp":1.3,"magic":7,"comment":"c"})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1,"sl":1.0,"tp":1.2,"magic":8,"comment":"c"})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1,"sl":1.0,"tp":1.2,"magic":7,"comment":"d"})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1,"sl":1.0,"tp":1.2,"magic":7})",
      R"({"action":"OPEN","uuid":"u","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1,"tp":1.2,"magic":7,"comment":"c"})",
      R"({"action":"CLOSE","uuid":"u","ticket":7})",
  };
  std::vector<std::string> seen{base};
  for (std::string_view v : variants) {
    const std::string c = CanonicalOf(v);
    INFO(v << "\n -> " << c);
    for (const std::string& s : seen) CHECK(c != s);
    seen.push_back(c);
  }
}

TEST_CASE("Canonical strings are length-prefixed so separators inside them cannot alias",
          "[transport]") {
  // Symbol "A|1:B" with comment "" vs symbol "A" with comment "B"-ish shapes.
  const std::string a = CanonicalOf(
      R"({"action":"OPEN","uuid":"u","symbol":"EUR|BUY","type":"BUY","volume":1,"comment":"x"})");
  const std::string b = CanonicalOf(
      R"({"action":"OPEN","uuid":"u","symbol":"EUR","type":"BUY","volume":1,"comment":"x"})");
  CHECK(a != b);
  CHECK(a.find("7:EUR|BUY") != std::string::npos);
}

TEST_CASE("Canonical fields fold -0 into 0 and treat an absent magic as 0", "[transport]") {
  CHECK(CanonicalOf(
            R"({"action":"OPEN","uuid":"u","symbol":"S","type":"BUY","volume":1,"price":-0.0})") ==
        CanonicalOf(R"({"action":"OPEN","uuid":"u","symbol":"S","type":"BUY","volume":1})"));
  CHECK(CanonicalOf(
            R"({"action":"OPEN","uuid":"u","symbol":"S","type":"BUY","volume":1,"magic":0})") ==
        CanonicalOf(R"({"action":"OPEN","uuid":"u","symbol":"S","type":"BUY","volume":1})"));
}

TEST_CASE("Canonical fields of a CLOSE are its ticket", "[transport]") {
  CHECK(CanonicalOf(R"({"action":"CLOSE","uuid":"u","ticket":42})") == "CLOSE|42");
  CHECK(CanonicalOf(R"({"action":"CLOSE","uuid":"u","ticket":42})") !=
        CanonicalOf(R"({"action":"CLOSE","uuid":"u","ticket":43})"));
}

TEST_CASE("CanonicalOrderFields replaces the output rather than appending", "[transport]") {
  std::string out = "stale";
  CanonicalOrderFields(MustDecode(kBase), &out);
  CHECK(out.rfind("OPEN|", 0) == 0);
}

TEST_CASE("The fingerprint is SHA-256 of the canonical fields", "[transport]") {
  const Fingerprint fp = FingerprintOf("abc");
  static constexpr unsigned char kAbc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                             0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                             0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                             0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  CHECK(std::equal(fp.begin(), fp.end(), kAbc));
  CHECK(FingerprintBytes(fp).size() == 32);
  CHECK(FingerprintOf(CanonicalOf(kBase)) == FingerprintOf(CanonicalOf(kBase)));
}

TEST_CASE("A risk signature has the bridge's colon-free format", "[transport]") {
  std::string sig;
  AppendRiskSignature("abc", kNow, &sig);
  const std::regex format(R"(^RISK_PASS:[0-9a-f]{16}:\d{8}T\d{6}\.\d{6}Z$)");
  CHECK(std::regex_match(sig, format));
  CHECK(sig == "RISK_PASS:ba7816bf8f01cfea:20261125T093552.123456Z");
  // Exactly three parts when split on ':' as the bridge does.
  CHECK(std::count(sig.begin(), sig.end(), ':') == 2);
}

TEST_CASE(
    "A risk signature's checksum is the first 16 lowercase hex digits of SHA-256 for inputs "
    "whose first 8 hash bytes cover every byte value",
    "[transport]") {
  // Reference encoding, independent of the one under test: one nibble at a time.
  const auto hex8 = [](const Fingerprint& fp) {
    std::string out;
    for (size_t i = 0; i < 8; ++i) {
      for (const int nibble : {fp[i] >> 4, fp[i] & 0xF}) {
        out.push_back(static_cast<char>(nibble < 10 ? '0' + nibble : 'a' + (nibble - 10)));
      }
    }
    return out;
  };
  std::array<bool, 256> seen{};
  size_t distinct = 0;
  for (int i = 0; i < 4096 && distinct < seen.size(); ++i) {
    const std::string input = "order-" + std::to_string(i);
    const Fingerprint fp = FingerprintOf(input);
    std::string sig;
    AppendRiskSignature(input, kNow, &sig);
    REQUIRE(sig.substr(0, 10) == "RISK_PASS:");
    CHECK(sig.substr(10, 16) == hex8(fp));
    CHECK(sig.substr(26) == ":20261125T093552.123456Z");
    for (size_t b = 0; b < 8; ++b) {
      if (!seen[fp[b]]) {
        seen[fp[b]] = true;
        ++distinct;
      }
    }
  }
  CHECK(distinct == seen.size());
}

TEST_CASE("A risk signature appends and passes the front end's own check", "[transport]") {
  const Request req = MustDecode(kBase);
  std::string canon;
  CanonicalOrderFields(req, &canon);
  std::string sig = "x";
  AppendRiskSignature(canon, kNow, &sig);
  REQUIRE(sig.front() == 'x');
  sig.erase(0, 1);
  std::string body(kBase);
  body.insert(body.size() - 1, ",\"risk_signature\":\"" + sig + "\"");
  CHECK(MustDecode(body).risk_signature.view() == absl::string_view(sig));
}

TEST_CASE("Fingerprints are computed correctly from many threads at once", "[transport]") {
  const Fingerprint expected = FingerprintOf("abc");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      int good = 0;
      for (int i = 0; i < 1000; ++i) good += FingerprintOf("abc") == expected;
      ok[static_cast<size_t>(t)] = good;
    });
  }
  for (auto& th : threads) th.join();
  for (int v : ok) CHECK(v == 1000);
}

}  // namespace
}  // namespace ordergate
