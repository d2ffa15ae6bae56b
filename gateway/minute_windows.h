// MinuteWindows: per-minute buckets of the order counters and of the per-stage latency histograms,
// kept for 24 h and persisted in the store's metadata, from which any window of whole minutes (the
// checkpoint's 1 h / 4 h / 12 h / 24 h) is read back exactly.
//
//   MinuteWindows w({&counters, &latency, &window_counters});   // the loop's cumulative sources
//   w.Load(store->ListMeta(kMinuteKeyPrefix), now_unix_ms);      // start-up: what earlier runs
//   kept AdvanceMinuteWindows(w, *store, now_unix_ms);                // the loop, every iteration
//   WindowReport r = w.Read(/*window_s=*/3600, now_unix_ms);     // any thread (the HTTP endpoint)
//
// Why cut from cumulative sources: the loop already counts every order (GatewayCounters) and
// records every latency (StageLatency), so a minute's bucket is the difference of two snapshots of
// them, taken by the loop at the minute's end. The order path gains nothing but three relaxed
// increments (WindowCounters: what GatewayCounters does not count); no histogram is recorded
// twice. A bucket's counts and histogram buckets are exact; its latency min/max are those of its
// non-empty histogram buckets (HistogramSnapshot::Minus: at most 0.78% above the true maximum).
// A minute ends at the loop's first look at the clock after it (within the loop's 20 ms poll).
//
// Persistence: the minute being filled is written to the store (one metadata key, "minute/" + its
// start in unix ms, 13 digits) every flush_interval_ms while it changes, and once more when it
// ends; nothing per order. Metadata writes survive kill -9 (Store::WriteMeta), so a restart loses
// at most what the last flush_interval_ms added, never more than the current minute. A minute that
// a previous run had started is merged into, not overwritten. Minutes older than keep_minutes are
// dropped from memory and erased from the store. Times are wall-clock unix ms (comparable across
// restarts); a clock that steps back keeps filling the current minute instead of reopening an older
// one.
//
// Thread-safety: Load, Tick, Persisted (and AdvanceMinuteWindows) from the loop's thread only.
// Read and published_unix_ms from any thread: they copy a pointer under a mutex the loop takes only
// to swap that pointer (once per flush), so a reader never blocks the loop for longer than that.
#ifndef ORDERGATE_GATEWAY_MINUTE_WINDOWS_H_
#define ORDERGATE_GATEWAY_MINUTE_WINDOWS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/latency_histogram.h"
#include "idempotency/store.h"

namespace ordergate::gateway {

struct GatewayCounters;  // gateway/gateway.h

// What the loop counts for the windows alone. Written by the loop's thread only (relaxed
// increments), read from any thread. Monotonic since start.
struct WindowCounters {
  // OPEN/CLOSE whose reservation was applied: each uuid is reserved once in the store, so this
  // counts distinct uuids accepted.
  std::atomic<uint64_t> accepted{0};
  // OPEN/CLOSE answered without sending anything: a retry replayed from the record or answered
  // UNKNOWN, or a submission that joined the one in flight (IDEMPOTENCY_CONFLICT not included).
  std::atomic<uint64_t> duplicate_requests{0};
  // OPEN/CLOSE sent to the bridge for an order that had already been sent: checked at each send
  // (the order must be fresh from its reservation). 0 by construction; counted so that a broken
  // invariant shows in every window and alert instead of only at the bridge.
  std::atomic<uint64_t> duplicate_sends{0};
};

// One minute's (or one window's) counts. Field order is the persisted order: append only.
struct MinuteCounts {
  uint64_t accepted = 0;            // WindowCounters::accepted
  uint64_t sent = 0;                // GatewayCounters::orders_submitted
  uint64_t filled = 0;              // orders_filled (resolved UNKNOWN orders included)
  uint64_t rejected = 0;            // orders_rejected
  uint64_t unknown = 0;             // orders_unknown: RESERVED -> UNKNOWN at bridge_timeout_ms
  uint64_t unknown_resolved = 0;    // unknown_resolved
  uint64_t duplicate_requests = 0;  // WindowCounters::duplicate_requests
  uint64_t duplicate_sends = 0;     // WindowCounters::duplicate_sends
  uint64_t conflicts = 0;           // IDEMPOTENCY_CONFLICT
  uint64_t denied = 0;              // refused by ordergate (validation, busy, down, store)
  uint64_t store_unavailable = 0;
  uint64_t requests = 0;       // bodies received
  uint64_t cpu_ns = 0;         // this process's CPU time (user + system) during the minute
  uint64_t covered_ms = 0;     // wall time of the minute the gateway ran (a restart leaves a gap)
  uint64_t rss_max_bytes = 0;  // the highest RSS sampled (at each flush and minute end)

  void Add(const MinuteCounts& o);  // sums; rss_max_bytes takes the maximum
  bool operator==(const MinuteCounts&) const = default;
};

struct MinuteBucket {
  int64_t minute_unix_ms = 0;  // the minute's start (a multiple of 60000)
  MinuteCounts counts;
  StageLatencySnapshot latency;
  bool operator==(const MinuteBucket&) const = default;
};

// The persisted form: [u8 version=1][varint minute][varint n][n varint counts][per stage: varint
// count, sum, min, max, non-empty buckets k, k x (varint index delta, varint count)]. Decoding is
// strict: kDataLoss for anything else (a truncated value, another version, indexes out of the
// layout, count != sum of buckets, trailing bytes); more counts than this build knows are
// ignored, fewer read as 0. Pure.
std::string EncodeMinuteBucket(const MinuteBucket& b);
absl::StatusOr<MinuteBucket> DecodeMinuteBucket(absl::string_view encoded);

inline constexpr char kMinuteKeyPrefix[] = "minute/";
std::string MinuteKey(int64_t minute_unix_ms);  // "minute/" + 13 digits, so keys sort by time

// A window read back: the sum of its minutes.
struct WindowReport {
  int64_t window_s = 0;
  int64_t now_unix_ms = 0;            // the end the window was read at
  int64_t first_minute_unix_ms = 0;   // the oldest minute the window covers
  int64_t minutes_with_data = 0;      // minutes of the window the gateway ran in
  MinuteCounts counts;                // summed over the window
  uint64_t peak_minute_accepted = 0;  // the most orders accepted in one minute of the window
  StageLatencySnapshot latency;       // merged over the window
  int64_t published_unix_ms = 0;      // when the loop last published (flush or minute end)
};

struct MinuteWindowsOptions {
  int64_t keep_minutes = int64_t{24} * 60;
  int64_t flush_interval_ms = 2000;
};

class MinuteWindows {
 public:
  struct Sources {
    const GatewayCounters* counters = nullptr;
    const StageLatency* latency = nullptr;
    const WindowCounters* window = nullptr;
  };
  explicit MinuteWindows(Sources sources, MinuteWindowsOptions options = {});
  MinuteWindows(const MinuteWindows&) = delete;
  MinuteWindows& operator=(const MinuteWindows&) = delete;

  // Start-up, before the first Tick: the minutes earlier runs persisted (the result of
  // Store::ListMeta(kMinuteKeyPrefix)). Returns OK, or (with a message, for a warning; the gateway
  // starts all the same): kDataLoss naming how many entries did not decode (skipped, the rest
  // loaded); the listing's own error (nothing loaded). A store without metadata (kUnimplemented)
  // turns persistence off: the windows then cover this run only. Minutes older than keep_minutes
  // are not loaded and are erased at the first persist.
  absl::Status Load(const absl::StatusOr<std::vector<idempotency::MetaEntry>>& persisted,
                    int64_t now_unix_ms);

  // The loop, every iteration, with the wall clock: seals the current minute when `now` is past it
  // and flushes it every flush_interval_ms while it changed. Cheap when nothing is due (compares).
  // Returns the metadata writes to make now (one batch: the minute's key, expired keys erased), or
  // null; their views stay valid until the next Tick. Report the write's result with Persisted().
  // `force_flush`: flush now whatever changed (the loop's last call, at a clean stop).
  const std::vector<idempotency::MetaWrite>* Tick(int64_t now_unix_ms, bool force_flush = false);
  // The result of writing Tick()'s batch: failed minutes are written again at the next flush;
  // kUnimplemented turns persistence off for good.
  void Persisted(const absl::Status& written);

  // The window of `window_s` seconds (rounded up to whole minutes) ending at `now_unix_ms`: the
  // minute holding `now` and the ones before it. Any thread; decodes the minutes it covers (a 24 h
  // window: ~1440 small decodes, a few ms).
  WindowReport Read(int64_t window_s, int64_t now_unix_ms) const;
  int64_t published_unix_ms() const;
  // When the last write of the windows to the store succeeded (0: none yet). Any thread.
  int64_t persisted_unix_ms() const { return persisted_unix_ms_.load(std::memory_order_relaxed); }

  const MinuteWindowsOptions& options() const { return options_; }

 private:
  struct Cumulative {
    MinuteCounts counts;
    StageLatencySnapshot latency;
  };
  struct Published {
    std::vector<std::pair<int64_t, std::shared_ptr<const std::string>>> minutes;  // ascending
    int64_t at_unix_ms = 0;
  };
  Cumulative Sample() const;
  MinuteBucket CurrentBucket(const Cumulative& now, int64_t now_unix_ms) const;
  void Publish(int64_t now_unix_ms);
  uint64_t ChangeStamp() const;

  const Sources sources_;
  const MinuteWindowsOptions options_;
  // Loop thread only.
  std::map<int64_t, std::shared_ptr<const std::string>> minutes_;  // encoded, by minute start
  std::map<int64_t, MinuteBucket> carried_;  // minutes an earlier run started, merged into
  int64_t current_minute_ms_ = -1;           // -1 until the first Tick
  int64_t current_since_ms_ = 0;             // when this process began filling it
  Cumulative baseline_;                      // the sources at the current minute's start
  int64_t next_flush_ms_ = 0;
  uint64_t flushed_stamp_ = 0;
  bool persist_ = true;
  std::vector<int64_t> unpersisted_;  // minutes whose last write failed or is due
  std::vector<std::string> erase_keys_;
  std::vector<std::string> put_keys_;
  std::vector<idempotency::MetaWrite> writes_;
  int64_t tick_unix_ms_ = 0;  // the Tick whose batch Persisted() reports
  bool warned_ = false;       // a failed write was logged; cleared by the next success
  std::atomic<int64_t> persisted_unix_ms_{0};
  // Readers.
  mutable std::mutex mu_;
  std::shared_ptr<const Published> published_;
};

// Tick(), the batch written with store.WriteMeta(), Persisted(): the loop's one call. Blocks for
// one unsynced metadata write when a flush is due (every flush_interval_ms at most).
void AdvanceMinuteWindows(MinuteWindows& windows, idempotency::Store& store, int64_t now_unix_ms,
                          bool force_flush = false);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_MINUTE_WINDOWS_H_
