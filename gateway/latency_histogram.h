// LatencyHistogram: per-stage latency distributions recorded on the order loop and read by the HTTP
// thread, without a lock on either side.
//
//   LatencyHistogram h;                        // owned by the writer (the gateway's loop)
//   h.Record(end_ns - start_ns);               // writer thread only: wait-free, ~ a few ns
//   HistogramSnapshot s = h.Snapshot();        // any thread, while the writer records
//   int64_t p99_ns = s.ValueAtQuantile(0.99);  // <= 0.78% above the true p99
//   HistogramSnapshot window = s.Minus(earlier_snapshot);   // what was recorded in between
//
// Buckets (HdrHistogram-style log-linear): values below 256 ns have a bucket each (exact); above,
// every power-of-two range [2^k, 2^(k+1)) is split into 128 equal sub-buckets, so a bucket's width
// is at most 1/128 (0.78%) of any value in it. This covers 0 .. 2^36 ns (68.7 s) in 3840 buckets
// (30 KiB); larger values are recorded as kMaxTrackableNs (counted in the top bucket, and in
// sum/max as that value). Negative values are recorded as 0.
//
// Why a seqlock: the loop must never wait for a scraper, and a scraper must see a snapshot whose
// count equals the sum of its buckets (Prometheus rates and quantiles are computed from both). The
// single writer bumps a sequence to odd, updates with relaxed stores (no lock-prefixed RMW: there
// is one writer), and bumps it to even; a reader copies and retries when the sequence moved.
#ifndef ORDERGATE_GATEWAY_LATENCY_HISTOGRAM_H_
#define ORDERGATE_GATEWAY_LATENCY_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ordergate::gateway {

// The bucket layout, shared by every histogram and snapshot (so they can be merged and diffed).
inline constexpr int kSubBucketBits = 7;  // 128 sub-buckets per octave
inline constexpr int64_t kSubBucketCount = 1 << kSubBucketBits;
inline constexpr int kTopOctave = 35;  // [2^35, 2^36) ns: 34.4 .. 68.7 s
inline constexpr int kLatencyBucketCount = (kTopOctave - kSubBucketBits + 2) * kSubBucketCount;
inline constexpr int64_t kMaxTrackableNs = (int64_t{1} << (kTopOctave + 1)) - 1;

// The bucket holding `value_ns` (clamped into [0, kMaxTrackableNs]). Pure; any thread. Inline: it
// is on Record()'s path (a count-leading-zeros and a shift).
inline int LatencyBucketIndex(int64_t value_ns) {
  const int64_t v = std::clamp<int64_t>(value_ns, 0, kMaxTrackableNs);
  if (v < kSubBucketCount) return static_cast<int>(v);
  const int shift = static_cast<int>(std::bit_width(static_cast<uint64_t>(v))) - 1 - kSubBucketBits;
  return static_cast<int>(shift * kSubBucketCount + (v >> shift));
}
// Bucket `index`'s range [lower, upper): lower inclusive, upper exclusive. Pure; any thread.
int64_t LatencyBucketLowerNs(int index);
int64_t LatencyBucketUpperNs(int index);

// A point-in-time copy of a histogram: a plain value type (copyable, comparable in tests).
// Invariant kept by every producer here: count == sum of buckets; min_ns/max_ns are 0 when empty.
struct HistogramSnapshot {
  uint64_t count = 0;
  int64_t sum_ns = 0;
  int64_t min_ns = 0;
  int64_t max_ns = 0;
  std::vector<uint64_t> buckets = std::vector<uint64_t>(kLatencyBucketCount, 0);

  // The nearest-rank q-quantile (q in [0, 1], clamped), represented by the highest value its
  // bucket can hold (upper_ns - 1), clamped into [min_ns, max_ns]. It is never below the true
  // quantile and at most 1/128 (0.78%) above it (exact below 256 ns); q = 0 and q = 1 give min_ns
  // and max_ns. 0 when empty.
  int64_t ValueAtQuantile(double q) const;
  double MeanNs() const {
    return count == 0 ? 0.0 : static_cast<double>(sum_ns) / static_cast<double>(count);
  }

  // What was recorded between `earlier` and this snapshot (both from the same histogram, earlier
  // first). count, sum and buckets are exact; min_ns/max_ns of a window cannot be known exactly and
  // are approximated from its non-empty buckets (lowest bucket's lower bound, highest bucket's
  // upper bound - 1, clamped into this snapshot's [min_ns, max_ns]). A bucket smaller in this
  // snapshot than in `earlier` (not the same histogram, or reversed) counts as 0.
  HistogramSnapshot Minus(const HistogramSnapshot& earlier) const;

  // Adds `other` into this one (e.g. several runs or processes); min/max are combined exactly.
  void Merge(const HistogramSnapshot& other);

  // Records one value into this plain copy, with LatencyHistogram::Record()'s clamping: for a
  // distribution that one thread both records and reads (the bench harness's own figures), where
  // the atomics and the seqlock would buy nothing. Not thread-safe; never allocates.
  void Add(int64_t value_ns);

  // Calls f(lower_ns, upper_ns, count) for each non-empty bucket in ascending order.
  template <typename F>
  void ForEachBucket(F&& f) const {
    for (int i = 0; i < static_cast<int>(buckets.size()); ++i) {
      if (buckets[i] != 0) f(LatencyBucketLowerNs(i), LatencyBucketUpperNs(i), buckets[i]);
    }
  }

  bool operator==(const HistogramSnapshot&) const = default;
};

class LatencyHistogram {
 public:
  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Records one latency. ONE writer thread only (the same thread every time, or threads ordered by
  // a happens-before edge); concurrent writers would lose counts. Wait-free, never allocates,
  // never fails.
  void Record(int64_t latency_ns) {
    const int64_t v = std::clamp<int64_t>(latency_ns, 0, kMaxTrackableNs);
    const uint64_t seq = seq_.load(std::memory_order_relaxed);
    seq_.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    std::atomic<uint64_t>& b = buckets_[LatencyBucketIndex(v)];
    b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    if (v < min_ns_.load(std::memory_order_relaxed)) min_ns_.store(v, std::memory_order_relaxed);
    if (v > max_ns_.load(std::memory_order_relaxed)) max_ns_.store(v, std::memory_order_relaxed);
    seq_.store(seq + 2, std::memory_order_release);
  }

  // A consistent copy: count == sum of buckets, and sum/min/max are those of the same instant. Any
  // thread, concurrently with Record(); never blocks the writer (the reader may spin and yield).
  // It retries while the writer is mid-record (up to kSnapshotRetries copies, yielding between
  // them); if the writer never paused for a whole copy (~1-2 us), it returns the last copy with
  // count re-derived from its buckets: still count == sum of buckets, but sum/min/max may be off
  // by the records that raced (counted in torn_snapshots()). Allocates the snapshot (30 KiB).
  HistogramSnapshot Snapshot() const;

  // Snapshots that fell back to a torn copy (see Snapshot()). Any thread.
  uint64_t torn_snapshots() const { return torn_snapshots_.load(std::memory_order_relaxed); }

  static constexpr int kSnapshotRetries = 64;

 private:
  std::atomic<uint64_t> seq_{0};  // odd while Record() is writing
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> sum_ns_{0};
  std::atomic<int64_t> min_ns_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> max_ns_{0};
  std::array<std::atomic<uint64_t>, kLatencyBucketCount> buckets_{};
  // Written by readers only; on its own cache line so they do not disturb the writer's.
  alignas(64) mutable std::atomic<uint64_t> torn_snapshots_{0};
};

// The loop's stages (definitions in /latency's format: docs or gateway/gateway.cc). Written by the
// gateway's loop thread only; read from any thread through Snapshot().
struct StageLatencySnapshot {
  HistogramSnapshot decode, reserve, bridge, total, store_apply;

  StageLatencySnapshot Minus(const StageLatencySnapshot& earlier) const;
  bool operator==(const StageLatencySnapshot&) const = default;
};

struct StageLatency {
  LatencyHistogram decode;   // DecodeRequest of one request body
  LatencyHistogram reserve;  // new order's arrival -> its reservation batch returned
  LatencyHistogram bridge;   // order sent -> the bridge's reply to it received
  LatencyHistogram total;    // new order's arrival -> FILLED/REJECTED reply handed to the socket
  LatencyHistogram store_apply;  // one Store::Apply call (one per batch)

  StageLatencySnapshot Snapshot() const;  // each stage consistent on its own; any thread
};

// The stage names in /latency, in output order.
inline constexpr std::array<absl::string_view, 5> kLatencyStageNames = {
    "decode", "reserve", "bridge", "total", "store_apply"};

// Appends one stage object: {"count":N,"sum_ns":S,"min_ns":A,"max_ns":B,"buckets":[[lo,hi,n],...]}
// (non-empty buckets only, ascending). Never fails.
void AppendHistogramJson(const HistogramSnapshot& s, std::string* out);

// Appends the whole /latency document: {"unit":"ns","stages":{"decode":{...},...}}. Never fails.
void AppendLatencyJson(const StageLatencySnapshot& s, std::string* out);

// Parses a /latency document (as produced by AppendLatencyJson). Not for the hot path (messages in
// errors). kInvalidArgument when it is not JSON, "unit" is not "ns", one of the five stages is
// missing, a bucket is not one of this layout's buckets (another version's layout), buckets are not
// ascending, or a stage's count is not the sum of its buckets. Unknown members are ignored.
absl::StatusOr<StageLatencySnapshot> ParseLatencyJson(absl::string_view json);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_LATENCY_HISTOGRAM_H_
