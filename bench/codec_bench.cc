// Components of the request path that every order pays for, one benchmark each:
//   BM_DecodeOpen        — a strategy's OPEN body decoded and validated (front end, per request).
//                          Args: {optional fields present (0..7: price, sl, tp, magic, comment,
//                          timeout_ms, risk_signature), comment length}. The strategy's own
//                          risk_signature is the costly one (timestamp parse + TTL check).
//   BM_FingerprintSign   — canonical fields + SHA-256 fingerprint + risk signature (per order
//                          sent). Arg: comment length, which sets the canonical length (printed
//                          as the canonical_bytes counter).
//   BM_EncodeBridge      — the bridge request encoded (per order sent). Arg: comment length.
//   BM_DecodeBridgeReply — the bridge's FILLED reply decoded (per reply received).
//   BM_EncodeReply       — the stored/bridge reply re-emitted to the strategy with duplicate and
//                          gateway_us added (per reply sent). Arg: reply body bytes.
// Each reports p50/p99/p99.9 per operation (bench_util.h; averaged over samples of 16 operations,
// since one takes well under a microsecond) and items_per_second.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "transport/codec.h"
#include "transport/signing.h"

namespace {

using namespace ordergate;

constexpr int kOpsPerSample = 16;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An OPEN with the required fields and the first `optional_fields` optional ones, in the order a
// Python strategy writes them.
std::string OpenBody(int optional_fields, int comment_len) {
  std::string body = R"({"action":"OPEN","uuid":"strat-7-000000123456","symbol":"EURUSD",)"
                     R"("type":"BUY","volume":0.1)";
  if (optional_fields > 0) body += R"(,"price":1.0845)";
  if (optional_fields > 1) body += R"(,"sl":1.08)";
  if (optional_fields > 2) body += R"(,"tp":1.09)";
  if (optional_fields > 3) body += R"(,"magic":4242)";
  if (optional_fields > 4) {
    absl::StrAppend(&body, R"(,"comment":")", std::string(static_cast<size_t>(comment_len), 'c'),
                    "\"");
  }
  if (optional_fields > 5) body += R"(,"timeout_ms":2000)";
  if (optional_fields > 6) {
    std::string sig = "RISK_PASS:0123456789abcdef:";
    AppendIsoTimestamp(NowUs(), /*basic=*/true, &sig);
    absl::StrAppend(&body, R"(,"risk_signature":")", sig, "\"");
  }
  body += "}";
  return body;
}

void BM_DecodeOpen(benchmark::State& state) {
  const std::string body =
      OpenBody(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  DecodeLimits limits;
  Request req;
  const int64_t now = NowUs();
  if (DecodeRequest(body, limits, now, &req) != ErrorCode::kOk) {
    state.SkipWithError("the benchmark's OPEN body does not decode");
    return;
  }
  bench::TimeEach(state, kOpsPerSample, [&] {
    ErrorCode ec = DecodeRequest(body, limits, now, &req);
    benchmark::DoNotOptimize(ec);
  });
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * kOpsPerSample * static_cast<int64_t>(body.size())));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_DecodeOpen)
    ->ArgNames({"optional", "comment"})
    ->Args({0, 0})
    ->Args({3, 0})
    ->Args({5, 0})
    ->Args({5, 31})
    ->Args({6, 31})
    ->Args({7, 31});

void BM_FingerprintSign(benchmark::State& state) {
  Request req;
  DecodeRequest(OpenBody(5, static_cast<int>(state.range(0))), DecodeLimits{}, NowUs(), &req);
  std::string canonical, sig;
  const int64_t now = NowUs();
  CanonicalOrderFields(req, &canonical);
  state.counters["canonical_bytes"] = static_cast<double>(canonical.size());
  bench::TimeEach(state, kOpsPerSample, [&] {
    canonical.clear();
    sig.clear();
    CanonicalOrderFields(req, &canonical);
    Fingerprint fp = FingerprintOf(canonical);
    AppendRiskSignature(canonical, now, &sig);
    benchmark::DoNotOptimize(fp);
  });
}
BENCHMARK(BM_FingerprintSign)->ArgName("comment")->Arg(0)->Arg(8)->Arg(31);

void BM_EncodeBridge(benchmark::State& state) {
  Request req;
  DecodeRequest(OpenBody(5, static_cast<int>(state.range(0))), DecodeLimits{}, NowUs(), &req);
  std::string out;
  const std::string sig = "RISK_PASS:0123456789abcdef:20261125T093552.123456Z";
  bench::TimeEach(state, kOpsPerSample, [&] {
    out.clear();
    EncodeBridgeRequest(req, sig, &out);
    benchmark::DoNotOptimize(out.data());
  });
  state.counters["out_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_EncodeBridge)->ArgName("comment")->Arg(0)->Arg(31);

// What the bridge answers to an OPEN (docs/protocol.md), ~180 bytes.
const char kFilledReply[] =
    R"({"uuid":"strat-7-000000123456","status":"FILLED","ticket":123456789,"symbol":"EURUSD",)"
    R"("volume":0.1,"price":1.08452,"execution_time":"2026-11-25T09:35:52.123456Z",)"
    R"("latency_ms":61.2})";

void BM_DecodeBridgeReply(benchmark::State& state) {
  const std::string body = kFilledReply;
  bench::TimeEach(state, kOpsPerSample, [&] {
    BridgeReply r = DecodeBridgeReply(body);
    benchmark::DoNotOptimize(r);
  });
}
BENCHMARK(BM_DecodeBridgeReply);

void BM_EncodeReply(benchmark::State& state) {
  // The FILLED reply padded (inside a string member) to the requested size.
  std::string body = kFilledReply;
  const size_t want = static_cast<size_t>(state.range(0));
  if (want > body.size() + 12) {
    body.pop_back();
    absl::StrAppend(&body, R"(,"pad":")", std::string(want - body.size() - 10, 'p'), "\"}");
  }
  std::string out;
  bench::TimeEach(state, kOpsPerSample, [&] {
    out.clear();
    AppendWithGatewayFields(body, /*duplicate=*/false, /*gateway_us=*/412, &out);
    benchmark::DoNotOptimize(out.data());
  });
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_EncodeReply)->ArgName("bytes")->Arg(180)->Arg(1024)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
