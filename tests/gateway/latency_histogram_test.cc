// LatencyHistogram: bucket accuracy, quantiles, windows, the /latency JSON, snapshots taken while
// the loop records, and the stages the gateway exposes on /latency and /metrics.
#include "gateway/latency_histogram.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/http_endpoint.h"
#include "tests/gateway/pipeline_util.h"

using og::gateway::HistogramSnapshot;
using og::gateway::kLatencyBucketCount;
using og::gateway::kMaxTrackableNs;
using og::gateway::LatencyBucketIndex;
using og::gateway::LatencyBucketLowerNs;
using og::gateway::LatencyBucketUpperNs;
using og::gateway::LatencyHistogram;
using og::gateway::StageLatency;
using og::gateway::StageLatencySnapshot;
using namespace pipeline_util;  // NOLINT(google-build-using-namespace)

namespace {

constexpr int64_t kUs = 1000;
constexpr int64_t kSec = 1000 * 1000 * 1000;

// The nearest-rank quantile of `sorted`, the definition ValueAtQuantile approximates.
int64_t ExactQuantile(const std::vector<int64_t>& sorted, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

HistogramSnapshot Recorded(const std::vector<int64_t>& values) {
  LatencyHistogram h;
  for (int64_t v : values) h.Record(v);
  return h.Snapshot();
}

uint64_t BucketSum(const HistogramSnapshot& s) {
  uint64_t n = 0;
  for (uint64_t b : s.buckets) n += b;
  return n;
}

}  // namespace

TEST_CASE("every value from 1 us to 60 s lands in a bucket narrower than 1% of it", "[gateway]") {
  std::mt19937_64 rng(42);
  std::vector<int64_t> values;
  // A geometric sweep (every 0.1%) plus random values, over the whole promised range.
  for (double v = 1000; v <= 60.0 * kSec; v *= 1.001) values.push_back(static_cast<int64_t>(v));
  std::uniform_real_distribution<double> log_dist(std::log(1000.0), std::log(60.0 * kSec));
  for (int i = 0; i < 200000; ++i) {
    values.push_back(static_cast<int64_t>(std::exp(log_dist(rng))));
  }
  int64_t worst_num = 0;
  int64_t worst_den = 1;
  for (int64_t v : values) {
    const int i = LatencyBucketIndex(v);
    REQUIRE(i >= 0);
    REQUIRE(i < kLatencyBucketCount);
    const int64_t lo = LatencyBucketLowerNs(i);
    const int64_t hi = LatencyBucketUpperNs(i);
    REQUIRE(lo <= v);
    REQUIRE(v < hi);
    // Any representative in [lo, hi) is within (hi - 1 - lo) of v.
    if ((hi - 1 - lo) * worst_den > worst_num * v) {
      worst_num = hi - 1 - lo;
      worst_den = v;
    }
  }
  CHECK(static_cast<double>(worst_num) / static_cast<double>(worst_den) <= 0.01);
  // And the quantile of a single value is that value within 1%.
  for (int64_t v : {int64_t{1000}, int64_t{1234567}, 59 * kSec, 60 * kSec}) {
    const HistogramSnapshot s = Recorded({v, v + 1, v + 2});
    const auto p50 = static_cast<double>(s.ValueAtQuantile(0.5));
    CHECK(std::abs(p50 - static_cast<double>(v + 1)) <= 0.01 * static_cast<double>(v));
  }
}

TEST_CASE("values below 256 ns are exact, negatives count as 0, and beyond 68 s clamp into the top",
          "[gateway]") {
  for (int64_t v = 0; v < 256; ++v) {
    CHECK(LatencyBucketLowerNs(LatencyBucketIndex(v)) == v);
    CHECK(LatencyBucketUpperNs(LatencyBucketIndex(v)) == v + 1);
  }
  // The buckets tile [0, 2^36) without gaps.
  for (int i = 1; i < kLatencyBucketCount; ++i) {
    REQUIRE(LatencyBucketLowerNs(i) == LatencyBucketUpperNs(i - 1));
  }
  CHECK(LatencyBucketUpperNs(kLatencyBucketCount - 1) == kMaxTrackableNs + 1);

  const HistogramSnapshot s = Recorded({-5, 3600 * kSec, 70 * kSec});
  CHECK(s.count == 3);
  CHECK(s.buckets[0] == 1);
  CHECK(s.buckets[kLatencyBucketCount - 1] == 2);
  CHECK(s.min_ns == 0);
  CHECK(s.max_ns == kMaxTrackableNs);
  CHECK(s.sum_ns == 2 * kMaxTrackableNs);
}

TEST_CASE("a plain snapshot's Add records exactly what the concurrent histogram records",
          "[gateway]") {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(300.0 * kUs), 1.5);
  std::vector<int64_t> values = {-7, 0, 255, 256, 70 * kSec};
  for (int i = 0; i < 20000; ++i) values.push_back(static_cast<int64_t>(dist(rng)));
  HistogramSnapshot plain;
  for (int64_t v : values) plain.Add(v);
  CHECK(plain == Recorded(values));
  CHECK(plain.ValueAtQuantile(0.99) == Recorded(values).ValueAtQuantile(0.99));
  HistogramSnapshot empty;
  empty.Add(5 * kUs);
  CHECK(empty.min_ns == 5 * kUs);  // the first value sets min, not the empty snapshot's 0
  CHECK(empty.max_ns == 5 * kUs);
}

TEST_CASE("quantiles of known distributions are never below the exact value and at most 1% above",
          "[gateway]") {
  std::mt19937_64 rng(7);
  std::vector<std::vector<int64_t>> sets;
  std::vector<int64_t> uniform;
  for (int64_t v = 1; v <= 100000; ++v) uniform.push_back(v * 1000);  // 1 us .. 100 ms
  sets.push_back(uniform);
  std::lognormal_distribution<double> lognormal(std::log(80000.0), 0.6);  // ~80 us median
  std::vector<int64_t> ln;
  for (int i = 0; i < 100000; ++i) ln.push_back(static_cast<int64_t>(lognormal(rng)));
  sets.push_back(ln);
  std::exponential_distribution<double> expo(1.0 / 20000.0);  // mean 20 us, many small values
  std::vector<int64_t> ex;
  for (int i = 0; i < 100000; ++i) ex.push_back(static_cast<int64_t>(expo(rng)));
  sets.push_back(ex);

  for (auto& values : sets) {
    const HistogramSnapshot s = Recorded(values);
    std::sort(values.begin(), values.end());
    REQUIRE(s.count == values.size());
    CHECK(s.min_ns == values.front());
    CHECK(s.max_ns == values.back());
    for (double q : {0.0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
      const int64_t exact = ExactQuantile(values, q);
      const int64_t got = s.ValueAtQuantile(q);
      INFO("q=" << q << " exact=" << exact << " got=" << got);
      CHECK(got >= exact);
      CHECK(static_cast<double>(got - exact) <= 0.01 * static_cast<double>(exact));
    }
    int64_t sum = 0;
    for (int64_t v : values) sum += v;
    CHECK(s.sum_ns == sum);
  }
  CHECK(HistogramSnapshot().ValueAtQuantile(0.5) == 0);
}

TEST_CASE("a window (later minus earlier) holds exactly what was recorded in between; merge adds",
          "[gateway]") {
  LatencyHistogram h;
  std::vector<int64_t> first;
  std::vector<int64_t> second;
  for (int i = 0; i < 1000; ++i) first.push_back(5 * kUs + i * 10);
  for (int i = 0; i < 500; ++i) second.push_back(300 * kUs + i * 1000);
  for (int64_t v : first) h.Record(v);
  const HistogramSnapshot earlier = h.Snapshot();
  for (int64_t v : second) h.Record(v);
  const HistogramSnapshot later = h.Snapshot();

  const HistogramSnapshot window = later.Minus(earlier);
  const HistogramSnapshot only_second = Recorded(second);
  CHECK(window.count == only_second.count);
  CHECK(window.sum_ns == only_second.sum_ns);
  CHECK(window.buckets == only_second.buckets);
  // min/max of a window come from its buckets: within a bucket of the true ones.
  CHECK(window.min_ns <= only_second.min_ns);
  CHECK(window.min_ns >= LatencyBucketLowerNs(LatencyBucketIndex(only_second.min_ns)));
  CHECK(window.max_ns >= only_second.max_ns);
  CHECK(window.max_ns < LatencyBucketUpperNs(LatencyBucketIndex(only_second.max_ns)));
  CHECK(window.ValueAtQuantile(0.5) == only_second.ValueAtQuantile(0.5));

  // Nothing in between: an empty window.
  const HistogramSnapshot none = later.Minus(later);
  CHECK(none.count == 0);
  CHECK(none.sum_ns == 0);
  CHECK(none.min_ns == 0);
  CHECK(none.max_ns == 0);

  HistogramSnapshot merged = Recorded(first);
  merged.Merge(only_second);
  CHECK(merged == later);
  HistogramSnapshot from_empty;
  from_empty.Merge(later);
  CHECK(from_empty == later);
  from_empty.Merge(HistogramSnapshot());
  CHECK(from_empty == later);

  std::vector<std::vector<int64_t>> seen;
  window.ForEachBucket([&](int64_t lo, int64_t hi, uint64_t n) {
    seen.push_back({lo, hi, static_cast<int64_t>(n)});
  });
  REQUIRE(!seen.empty());
  uint64_t total = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i][0] < seen[i][1]);
    if (i > 0) CHECK(seen[i - 1][1] <= seen[i][0]);
    total += static_cast<uint64_t>(seen[i][2]);
  }
  CHECK(total == window.count);
}

TEST_CASE("the /latency JSON round-trips, and an empty stage has the documented form",
          "[gateway]") {
  StageLatency stages;
  for (int i = 0; i < 300; ++i) stages.decode.Record(400 + i);
  for (int i = 0; i < 50; ++i) stages.total.Record(90 * kUs + i * 777);
  stages.store_apply.Record(250 * kUs);
  const StageLatencySnapshot s = stages.Snapshot();
  std::string json;
  og::gateway::AppendLatencyJson(s, &json);
  CHECK(json.rfind("{\"unit\":\"ns\",\"stages\":{\"decode\":{\"count\":300,", 0) == 0);
  CHECK(json.find(
            "\"reserve\":{\"count\":0,\"sum_ns\":0,\"min_ns\":0,\"max_ns\":0,\"buckets\":[]}") !=
        std::string::npos);
  CHECK(json.find("\"store_apply\":{\"count\":1,\"sum_ns\":250000,\"min_ns\":250000,"
                  "\"max_ns\":250000,\"buckets\":[[249856,250880,1]]}") != std::string::npos);

  auto parsed = og::gateway::ParseLatencyJson(json);
  REQUIRE(parsed.ok());
  CHECK(*parsed == s);

  // What the parser refuses, with a reason.
  auto refused = [](const std::string& text) {
    auto r = og::gateway::ParseLatencyJson(text);
    return !r.ok() && r.status().code() == absl::StatusCode::kInvalidArgument;
  };
  CHECK(refused("not json"));
  CHECK(refused(R"({"unit":"us","stages":{}})"));
  std::string missing = json;
  missing.replace(missing.find("\"bridge\""), 8, "\"bridgX\"");
  CHECK(refused(missing));
  std::string bad_count = json;
  bad_count.replace(bad_count.find("\"count\":300"), 11, "\"count\":301");
  CHECK(refused(bad_count));
  std::string bad_bounds = json;
  bad_bounds.replace(bad_bounds.find("[249856,250880,1]"), 17, "[249856,250000,1]");
  CHECK(refused(bad_bounds));
}

TEST_CASE("snapshots taken while the writer records are consistent and monotone", "[gateway]") {
  // Value i is 1000 + 16 * (i % 4096) ns, so a snapshot's sum, min and max follow from its count:
  // a torn copy (sum of another instant than count) would show.
  auto value = [](uint64_t i) { return static_cast<int64_t>(1000 + 16 * (i % 4096)); };
  auto sum_of_first = [](uint64_t n) {
    const uint64_t full = n / 4096;
    const uint64_t rem = n % 4096;
    return static_cast<int64_t>(n * 1000 + 16 * (full * (4095 * 4096 / 2) + rem * (rem - 1) / 2));
  };

  for (const bool paced : {true, false}) {
    INFO("paced=" << paced);
    LatencyHistogram h;
    std::atomic<bool> stop{false};
    std::atomic<bool> started{false};
    uint64_t records = 0;
    std::thread writer([&] {
      started = true;
      auto next = std::chrono::steady_clock::now();
      for (; !stop.load(std::memory_order_relaxed); ++records) {
        if (paced) {
          // ~one record per 10 us: the gateway's rate is far below a tight loop's.
          next += std::chrono::microseconds(10);
          while (std::chrono::steady_clock::now() < next) {
          }
        }
        h.Record(value(records));
      }
    });
    while (!started.load()) std::this_thread::yield();
    constexpr int kSnapshots = 300;
    uint64_t last_count = 0;
    int exact = 0;
    for (int n = 0; n < kSnapshots || last_count == 0; ++n) {
      const uint64_t torn_before = h.torn_snapshots();
      const HistogramSnapshot s = h.Snapshot();
      REQUIRE(s.count == BucketSum(s));
      REQUIRE(s.count >= last_count);
      last_count = s.count;
      if (h.torn_snapshots() == torn_before && s.count > 0) {
        ++exact;
        REQUIRE(s.sum_ns == sum_of_first(s.count));
        REQUIRE(s.min_ns == 1000);
        REQUIRE(s.max_ns == value(std::min<uint64_t>(s.count, 4096) - 1));
      }
    }
    stop = true;
    writer.join();
    const HistogramSnapshot end = h.Snapshot();
    CHECK(end.count == records);
    CHECK(end.count >= last_count);
    CHECK(end.sum_ns == sum_of_first(records));
    if (paced) CHECK(exact > kSnapshots / 2);
  }
}

// ---------------------------------------------------------------------------------------------
// The gateway's stages over HTTP

namespace {

// The Prometheus text format's sample line: name{labels} value.
bool IsSampleLine(const std::string& line) {
  static const std::regex kSample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? (NaN|[+-]Inf|[-+]?[0-9.]+([eE][-+]?[0-9]+)?)$)");
  return std::regex_match(line, kSample);
}

std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

}  // namespace

TEST_CASE("the order latency histogram counts a fine bucket into le only when its upper bound fits",
          "[gateway]") {
  StageLatency stages;
  stages.total.Record(99'000);     // bucket [98816, 99328): inside le=0.0001
  stages.total.Record(100'000);    // bucket [99840, 100352): straddles 100 us, counted at 0.00025
  stages.total.Record(3 * kSec);   // le=5
  stages.total.Record(20 * kSec);  // only +Inf
  std::string text;
  og::gateway::AppendLatencyMetrics(stages.Snapshot(), &text);
  const auto m = Samples(text);
  CHECK(m.at("ordergate_stage_latency_seconds_bucket{stage=\"total\",le=\"0.0001\"}") == 1);
  CHECK(m.at("ordergate_stage_latency_seconds_bucket{stage=\"total\",le=\"0.00025\"}") == 2);
  CHECK(m.at("ordergate_stage_latency_seconds_bucket{stage=\"total\",le=\"2.5\"}") == 2);
  CHECK(m.at("ordergate_stage_latency_seconds_bucket{stage=\"total\",le=\"5\"}") == 3);
  CHECK(m.at("ordergate_stage_latency_seconds_bucket{stage=\"total\",le=\"10\"}") == 3);
  CHECK(m.at("ordergate_stage_latency_seconds_bucket{stage=\"total\",le=\"+Inf\"}") == 4);
  CHECK(m.at("ordergate_stage_latency_seconds_count{stage=\"total\"}") == 4);
  CHECK(m.at("ordergate_stage_latency_seconds_sum{stage=\"total\"}") == Approx(23.000199));
  CHECK(m.at("ordergate_stage_latency_seconds_count{stage=\"total\"}") == 4);
  CHECK(m.at("ordergate_stage_latency_quantile_seconds{stage=\"total\",quantile=\"0.999\"}") ==
        Approx(20.0).epsilon(0.01));
  CHECK(text.find(
            "ordergate_stage_latency_quantile_seconds{stage=\"decode\",quantile=\"0.5\"} NaN\n") !=
        std::string::npos);
}

TEST_CASE("after orders flowed, /latency and /metrics carry every stage", "[gateway]") {
  int64_t ticket = 5000;
  ScriptedBridge bridge(
      [&](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, ++ticket); });
  const std::string dir = TempDir("latency");
  RunningGateway gw(TestConfig(bridge.endpoint(), dir));
  auto http = og::gateway::HttpEndpoint::Start("127.0.0.1:0", *gw);
  REQUIRE(http.ok());
  httplib::Client client("127.0.0.1", (*http)->port());

  // A warm-up window to diff away, as the bench does.
  auto before = og::gateway::ParseLatencyJson(client.Get("/latency")->body);
  REQUIRE(before.ok());

  constexpr int kOrders = 30;
  Strategy s(gw.endpoint());
  for (int i = 0; i < kOrders; ++i) s.Send(Open("lat-" + std::to_string(i)));
  for (int i = 0; i < kOrders; ++i) REQUIRE(s.Receive()["status"] == "FILLED");
  s.Send(Open("lat-0"));  // a duplicate answered from the store: decode only
  REQUIRE(s.Receive()["duplicate"] == "true");

  // total is recorded right after the reply left, so the last one may still be on its way.
  StageLatencySnapshot window;
  REQUIRE(Eventually([&] {
    auto res = client.Get("/latency");
    if (!res || res->status != 200) return false;
    auto now = og::gateway::ParseLatencyJson(res->body);
    if (!now.ok()) return false;
    window = now->Minus(*before);
    return window.total.count == kOrders;
  }));
  CHECK(window.decode.count == kOrders + 1);
  CHECK(window.reserve.count == kOrders + 1);  // the duplicate waited for its batch too
  CHECK(window.bridge.count == kOrders);
  CHECK(window.store_apply.count >= 1);
  CHECK(window.store_apply.count <= kOrders * 2);  // one per batch (reservations + outcomes)
  // Stages nest: an order's total contains its bridge round trip and its reservation.
  CHECK(window.total.ValueAtQuantile(1.0) >= window.bridge.ValueAtQuantile(0.0));
  CHECK(window.total.ValueAtQuantile(1.0) >= window.reserve.ValueAtQuantile(0.0));
  CHECK(window.total.sum_ns >= window.bridge.sum_ns);
  CHECK(window.total.sum_ns >= window.reserve.sum_ns);
  CHECK(window.decode.min_ns > 0);

  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  REQUIRE(metrics->status == 200);
  const std::string& text = metrics->body;
  // Valid exposition: every line a comment or a sample; each family typed before its samples.
  std::set<std::string> typed;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name;
      t >> name;
      CHECK(typed.insert(name).second);
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    INFO(line);
    REQUIRE(IsSampleLine(line));
    std::string family = line.substr(0, line.find_first_of("{ "));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string sfx(suffix);
      if (!typed.contains(family) && family.size() > sfx.size() &&
          family.compare(family.size() - sfx.size(), sfx.size(), sfx) == 0) {
        family.resize(family.size() - sfx.size());
      }
    }
    CHECK(typed.contains(family));
  }
  const auto m = Samples(text);
  for (absl::string_view stage : og::gateway::kLatencyStageNames) {
    const std::string label = "{stage=\"" + std::string(stage) + "\"";
    for (const char* q : {"0.5", "0.9", "0.99", "0.999"}) {
      CHECK(m.contains("ordergate_stage_latency_quantile_seconds" + label + ",quantile=\"" + q +
                       "\"}"));
    }
    for (const char* family :
         {"ordergate_stage_latency_quantile_seconds", "ordergate_stage_latency_seconds"}) {
      CHECK(m.contains(family + std::string("_sum") + label + "}"));
      CHECK(m.contains(family + std::string("_count") + label + "}"));
    }
    CHECK(m.at("ordergate_stage_latency_seconds_bucket" + label + ",le=\"+Inf\"}") ==
          m.at("ordergate_stage_latency_seconds_count" + label + "}"));
  }
  CHECK(m.at("ordergate_stage_latency_seconds_count{stage=\"bridge\"}") >= kOrders);
  CHECK(m.at("ordergate_stage_latency_quantile_seconds{stage=\"total\",quantile=\"0.5\"}") > 0);
  CHECK(m.at("ordergate_stage_latency_seconds_bucket{stage=\"total\",le=\"+Inf\"}") ==
        m.at("ordergate_stage_latency_seconds_count{stage=\"total\"}"));
  CHECK(m.at("ordergate_stage_latency_seconds_count{stage=\"total\"}") >= kOrders);
  double previous = 0;
  for (const char* le : {"1e-05",  "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001",
                         "0.0025", "0.005",   "0.01",  "0.025",  "0.05",    "0.1",    "0.25",
                         "0.5",    "1",       "2.5",   "5",      "10",      "+Inf"}) {
    const double v = m.at(
        std::string("ordergate_stage_latency_seconds_bucket{stage=\"total\",le=\"") + le + "\"}");
    CHECK(v >= previous);
    previous = v;
  }
  http->reset();
}
