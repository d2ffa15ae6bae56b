#include "gateway/latency_histogram.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ordergate::gateway {

int64_t LatencyBucketLowerNs(int index) {
  if (index < 2 * kSubBucketCount) return index;
  const int shift = index / static_cast<int>(kSubBucketCount) - 1;
  const int64_t mantissa = kSubBucketCount + index % kSubBucketCount;
  return mantissa << shift;
}

int64_t LatencyBucketUpperNs(int index) {
  if (index < 2 * kSubBucketCount) return index + 1;
  const int shift = index / static_cast<int>(kSubBucketCount) - 1;
  const int64_t mantissa = kSubBucketCount + index % kSubBucketCount;
  return (mantissa + 1) << shift;
}

// ---------------------------------------------------------------------------------------------
// HistogramSnapshot

int64_t HistogramSnapshot::ValueAtQuantile(double q) const {
  if (count == 0) return 0;
  if (!(q > 0.0)) return min_ns;  // also NaN
  if (q >= 1.0) return max_ns;
  // Nearest rank: the smallest value with at least ceil(q * count) values at or below it.
  const double exact_rank = std::ceil(q * static_cast<double>(count));
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(exact_rank), 1, count);
  uint64_t seen = 0;
  for (int i = 0; i < static_cast<int>(buckets.size()); ++i) {
    seen += buckets[i];
    if (seen >= rank) {
      return std::clamp<int64_t>(LatencyBucketUpperNs(i) - 1, min_ns, std::max(min_ns, max_ns));
    }
  }
  return max_ns;  // unreachable while count == sum of buckets
}

HistogramSnapshot HistogramSnapshot::Minus(const HistogramSnapshot& earlier) const {
  HistogramSnapshot w;
  int first = -1;
  int last = -1;
  for (int i = 0; i < kLatencyBucketCount; ++i) {
    const uint64_t later_n = i < static_cast<int>(buckets.size()) ? buckets[i] : 0;
    const uint64_t earlier_n =
        i < static_cast<int>(earlier.buckets.size()) ? earlier.buckets[i] : 0;
    const uint64_t n = later_n > earlier_n ? later_n - earlier_n : 0;
    w.buckets[i] = n;
    w.count += n;
    if (n != 0) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (w.count == 0) return w;
  w.sum_ns = std::max<int64_t>(0, sum_ns - earlier.sum_ns);
  w.min_ns = std::clamp(LatencyBucketLowerNs(first), min_ns, std::max(min_ns, max_ns));
  w.max_ns = std::clamp(LatencyBucketUpperNs(last) - 1, min_ns, std::max(min_ns, max_ns));
  return w;
}

void HistogramSnapshot::Merge(const HistogramSnapshot& other) {
  if (other.count == 0) return;
  if (buckets.size() < other.buckets.size()) buckets.resize(other.buckets.size(), 0);
  for (size_t i = 0; i < other.buckets.size(); ++i) buckets[i] += other.buckets[i];
  min_ns = count == 0 ? other.min_ns : std::min(min_ns, other.min_ns);
  max_ns = count == 0 ? other.max_ns : std::max(max_ns, other.max_ns);
  count += other.count;
  sum_ns += other.sum_ns;
}

void HistogramSnapshot::Add(int64_t value_ns) {
  const int64_t v = std::clamp<int64_t>(value_ns, 0, kMaxTrackableNs);
  ++buckets[LatencyBucketIndex(v)];
  min_ns = count == 0 ? v : std::min(min_ns, v);
  max_ns = count == 0 ? v : std::max(max_ns, v);
  ++count;
  sum_ns += v;
}

// ---------------------------------------------------------------------------------------------
// LatencyHistogram

HistogramSnapshot LatencyHistogram::Snapshot() const {
  HistogramSnapshot s;
  for (int attempt = 0;; ++attempt) {
    const uint64_t before = seq_.load(std::memory_order_acquire);
    s.count = count_.load(std::memory_order_relaxed);
    s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
    s.min_ns = min_ns_.load(std::memory_order_relaxed);
    s.max_ns = max_ns_.load(std::memory_order_relaxed);
    for (int i = 0; i < kLatencyBucketCount; ++i) {
      s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    }
    // Orders the loads above before the re-read of seq_: if any of them saw a store of a Record()
    // that started after `before`, this load sees that Record()'s odd sequence (or later).
    std::atomic_thread_fence(std::memory_order_acquire);
    const uint64_t after = seq_.load(std::memory_order_relaxed);
    if (before == after && (before & 1) == 0) break;
    if (attempt + 1 >= kSnapshotRetries) {
      // The writer never paused for a whole copy: keep count == sum of buckets.
      uint64_t n = 0;
      for (uint64_t b : s.buckets) n += b;
      s.count = n;
      torn_snapshots_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    // A writer preempted mid-record holds the sequence odd until it runs again.
    if (attempt >= 2) std::this_thread::yield();
  }
  if (s.count == 0) {
    s.sum_ns = 0;
    s.min_ns = 0;
    s.max_ns = 0;
  } else if (s.min_ns > s.max_ns) {
    s.min_ns = s.max_ns;  // only after a fallback copy raced the first record
  }
  return s;
}

StageLatencySnapshot StageLatencySnapshot::Minus(const StageLatencySnapshot& earlier) const {
  return {decode.Minus(earlier.decode), reserve.Minus(earlier.reserve),
          bridge.Minus(earlier.bridge), total.Minus(earlier.total),
          store_apply.Minus(earlier.store_apply)};
}

StageLatencySnapshot StageLatency::Snapshot() const {
  return {decode.Snapshot(), reserve.Snapshot(), bridge.Snapshot(), total.Snapshot(),
          store_apply.Snapshot()};
}

// ---------------------------------------------------------------------------------------------
// JSON

namespace {

const HistogramSnapshot& Stage(const StageLatencySnapshot& s, size_t i) {
  switch (i) {
    case 0:
      return s.decode;
    case 1:
      return s.reserve;
    case 2:
      return s.bridge;
    case 3:
      return s.total;
    default:
      return s.store_apply;
  }
}

HistogramSnapshot& Stage(StageLatencySnapshot& s, size_t i) {
  return const_cast<HistogramSnapshot&>(Stage(static_cast<const StageLatencySnapshot&>(s), i));
}

absl::Status Invalid(absl::string_view stage, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("/latency stage \"", stage, "\": ", what));
}

absl::Status ParseStage(simdjson::dom::element e, absl::string_view name, HistogramSnapshot* out) {
  simdjson::dom::object obj;
  if (e.get(obj) != simdjson::SUCCESS) return Invalid(name, "not an object");
  int64_t v = 0;
  uint64_t n = 0;
  if (obj["count"].get(n) != simdjson::SUCCESS) return Invalid(name, "count missing");
  out->count = n;
  if (obj["sum_ns"].get(v) != simdjson::SUCCESS) return Invalid(name, "sum_ns missing");
  out->sum_ns = v;
  if (obj["min_ns"].get(v) != simdjson::SUCCESS) return Invalid(name, "min_ns missing");
  out->min_ns = v;
  if (obj["max_ns"].get(v) != simdjson::SUCCESS) return Invalid(name, "max_ns missing");
  out->max_ns = v;
  simdjson::dom::array buckets;
  if (obj["buckets"].get(buckets) != simdjson::SUCCESS) return Invalid(name, "buckets missing");
  int previous = -1;
  uint64_t total = 0;
  for (simdjson::dom::element b : buckets) {
    simdjson::dom::array triple;
    int64_t lower = 0;
    int64_t upper = 0;
    uint64_t c = 0;
    if (b.get(triple) != simdjson::SUCCESS || triple.size() != 3 ||
        triple.at(0).get(lower) != simdjson::SUCCESS ||
        triple.at(1).get(upper) != simdjson::SUCCESS || triple.at(2).get(c) != simdjson::SUCCESS) {
      return Invalid(name, "a bucket is not [lower_ns, upper_ns, count]");
    }
    const int index = LatencyBucketIndex(lower);
    if (lower < 0 || LatencyBucketLowerNs(index) != lower || LatencyBucketUpperNs(index) != upper) {
      return Invalid(name, absl::StrCat("bucket [", lower, ",", upper,
                                        ") is not one of this histogram layout's buckets"));
    }
    if (index <= previous) return Invalid(name, "buckets are not in ascending order");
    previous = index;
    out->buckets[index] = c;
    total += c;
  }
  if (total != out->count) {
    return Invalid(
        name, absl::StrCat("count ", out->count, " is not the sum of its buckets (", total, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

void AppendHistogramJson(const HistogramSnapshot& s, std::string* out) {
  absl::StrAppend(out, "{\"count\":", s.count, ",\"sum_ns\":", s.sum_ns, ",\"min_ns\":", s.min_ns,
                  ",\"max_ns\":", s.max_ns, ",\"buckets\":[");
  bool first = true;
  s.ForEachBucket([&](int64_t lower, int64_t upper, uint64_t n) {
    absl::StrAppend(out, first ? "[" : ",[", lower, ",", upper, ",", n, "]");
    first = false;
  });
  out->append("]}");
}

void AppendLatencyJson(const StageLatencySnapshot& s, std::string* out) {
  out->append("{\"unit\":\"ns\",\"stages\":{");
  for (size_t i = 0; i < kLatencyStageNames.size(); ++i) {
    absl::StrAppend(out, i == 0 ? "\"" : ",\"", kLatencyStageNames[i], "\":");
    AppendHistogramJson(Stage(s, i), out);
  }
  out->append("}}");
}

absl::StatusOr<StageLatencySnapshot> ParseLatencyJson(absl::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("/latency: not JSON");
  }
  std::string_view unit;
  if (doc["unit"].get(unit) != simdjson::SUCCESS || unit != "ns") {
    return absl::InvalidArgumentError("/latency: \"unit\" is not \"ns\"");
  }
  simdjson::dom::object stages;
  if (doc["stages"].get(stages) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("/latency: \"stages\" is not an object");
  }
  StageLatencySnapshot out;
  for (size_t i = 0; i < kLatencyStageNames.size(); ++i) {
    const absl::string_view name = kLatencyStageNames[i];
    simdjson::dom::element e;
    if (stages[std::string_view(name.data(), name.size())].get(e) != simdjson::SUCCESS) {
      return Invalid(name, "missing");
    }
    absl::Status st = ParseStage(e, name, &Stage(out, i));
    if (!st.ok()) return st;
  }
  return out;
}

}  // namespace ordergate::gateway
