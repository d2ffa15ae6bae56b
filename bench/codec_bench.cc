// Components of the request path that every order pays for, one benchmark each:
//   BM_DecodeOpen      — a strategy's OPEN body decoded and validated (front end, per request)
//   BM_FingerprintSign — canonical fields + SHA-256 fingerprint + risk signature (per order sent)
//   BM_EncodeBridge    — the bridge request encoded (per order sent)
// Args sweep the comment length, which is the only variable-size field of an OPEN.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "transport/codec.h"
#include "transport/signing.h"

namespace {

using namespace ordergate;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string OpenBody(int comment_len) {
  return absl::StrCat(
      R"({"action":"OPEN","uuid":"strat-7-000123456","symbol":"EURUSD","type":"BUY",)",
      R"("volume":0.1,"price":1.0845,"sl":1.08,"tp":1.09,"magic":4242,"comment":")",
      std::string(static_cast<size_t>(comment_len), 'c'), R"(","timeout_ms":2000})");
}

void BM_DecodeOpen(benchmark::State& state) {
  const std::string body = OpenBody(static_cast<int>(state.range(0)));
  DecodeLimits limits;
  Request req;
  const int64_t now = NowUs();
  for (auto _ : state) {
    ErrorCode ec = DecodeRequest(body, limits, now, &req);
    benchmark::DoNotOptimize(ec);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_DecodeOpen)->Arg(0)->Arg(16)->Arg(31);

void BM_FingerprintSign(benchmark::State& state) {
  Request req;
  DecodeRequest(OpenBody(static_cast<int>(state.range(0))), DecodeLimits{}, NowUs(), &req);
  std::string canonical, sig;
  const int64_t now = NowUs();
  for (auto _ : state) {
    canonical.clear();
    sig.clear();
    CanonicalOrderFields(req, &canonical);
    Fingerprint fp = FingerprintOf(canonical);
    AppendRiskSignature(canonical, now, &sig);
    benchmark::DoNotOptimize(fp);
  }
}
BENCHMARK(BM_FingerprintSign)->Arg(0)->Arg(31);

void BM_EncodeBridge(benchmark::State& state) {
  Request req;
  DecodeRequest(OpenBody(static_cast<int>(state.range(0))), DecodeLimits{}, NowUs(), &req);
  std::string out;
  const std::string sig = "RISK_PASS:0123456789abcdef:20261125T093552.123456Z";
  for (auto _ : state) {
    out.clear();
    EncodeBridgeRequest(req, sig, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EncodeBridge)->Arg(0)->Arg(31);

}  // namespace

BENCHMARK_MAIN();
