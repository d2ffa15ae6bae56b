#include "gateway/minute_windows.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "spdlog/spdlog.h"

namespace ordergate::gateway {

namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr uint8_t kBucketVersion = 1;
constexpr size_t kCountFields = 15;  // MinuteCounts' fields, in their persisted order

int64_t MinuteOf(int64_t unix_ms) {
  const int64_t m = unix_ms / kMinuteMs * kMinuteMs;
  return m > unix_ms ? m - kMinuteMs : m;  // floor, also before 1970
}

std::array<uint64_t*, kCountFields> Fields(MinuteCounts& c) {
  return {&c.accepted,
          &c.sent,
          &c.filled,
          &c.rejected,
          &c.unknown,
          &c.unknown_resolved,
          &c.duplicate_requests,
          &c.duplicate_sends,
          &c.conflicts,
          &c.denied,
          &c.store_unavailable,
          &c.requests,
          &c.cpu_ns,
          &c.covered_ms,
          &c.rss_max_bytes};
}
static_assert(sizeof(MinuteCounts) == kCountFields * sizeof(uint64_t),
              "MinuteCounts changed: list the new field in Fields() (appended: persisted order)");

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(absl::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

const HistogramSnapshot* StageOf(const StageLatencySnapshot& s, size_t i) {
  const HistogramSnapshot* stages[] = {&s.decode, &s.reserve, &s.bridge, &s.total, &s.store_apply};
  return stages[i];
}
HistogramSnapshot* StageOf(StageLatencySnapshot& s, size_t i) {
  return const_cast<HistogramSnapshot*>(StageOf(static_cast<const StageLatencySnapshot&>(s), i));
}

uint64_t ProcessCpuNs() {
  timespec ts{};
  if (::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long pages_total = 0, pages_resident = 0;
  const int read = std::fscanf(f, "%llu %llu", &pages_total, &pages_resident);
  std::fclose(f);
  if (read != 2) return 0;
  return pages_resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

uint64_t Sub(uint64_t a, uint64_t b) { return a >= b ? a - b : 0; }

}  // namespace

void MinuteCounts::Add(const MinuteCounts& o) {
  MinuteCounts copy = o;
  auto mine = Fields(*this);
  auto theirs = Fields(copy);
  for (size_t i = 0; i < kCountFields; ++i) {
    if (mine[i] == &rss_max_bytes) {
      rss_max_bytes = std::max(rss_max_bytes, o.rss_max_bytes);
    } else {
      *mine[i] += *theirs[i];
    }
  }
}

std::string MinuteKey(int64_t minute_unix_ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%013lld", kMinuteKeyPrefix,
                static_cast<long long>(std::max<int64_t>(minute_unix_ms, 0)));
  return buf;
}

std::string EncodeMinuteBucket(const MinuteBucket& b) {
  std::string out;
  out.push_back(static_cast<char>(kBucketVersion));
  PutVarint(static_cast<uint64_t>(b.minute_unix_ms), &out);
  PutVarint(kCountFields, &out);
  MinuteCounts counts = b.counts;
  for (uint64_t* f : Fields(counts)) PutVarint(*f, &out);
  for (size_t i = 0; i < kLatencyStageNames.size(); ++i) {
    const HistogramSnapshot& h = *StageOf(b.latency, i);
    PutVarint(h.count, &out);
    PutVarint(static_cast<uint64_t>(h.sum_ns), &out);
    PutVarint(static_cast<uint64_t>(h.min_ns), &out);
    PutVarint(static_cast<uint64_t>(h.max_ns), &out);
    uint64_t non_empty = 0;
    for (uint64_t n : h.buckets) non_empty += n != 0 ? 1 : 0;
    PutVarint(non_empty, &out);
    int64_t previous = -1;
    for (int64_t idx = 0; idx < static_cast<int64_t>(h.buckets.size()); ++idx) {
      if (h.buckets[idx] == 0) continue;
      PutVarint(static_cast<uint64_t>(idx - previous), &out);
      PutVarint(h.buckets[idx], &out);
      previous = idx;
    }
  }
  return out;
}

absl::StatusOr<MinuteBucket> DecodeMinuteBucket(absl::string_view in) {
  auto bad = [](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("minute bucket: ", why));
  };
  if (in.empty() || static_cast<uint8_t>(in.front()) != kBucketVersion) {
    return bad("empty or of another version");
  }
  in.remove_prefix(1);
  MinuteBucket b;
  uint64_t v = 0, n = 0;
  if (!GetVarint(&in, &v)) return bad("truncated minute");
  b.minute_unix_ms = static_cast<int64_t>(v);
  if (!GetVarint(&in, &n) || n > 1024) return bad("truncated or absurd count of counters");
  auto fields = Fields(b.counts);
  for (uint64_t i = 0; i < n; ++i) {
    if (!GetVarint(&in, &v)) return bad("truncated counters");
    if (i < kCountFields) *fields[i] = v;
  }
  for (size_t s = 0; s < kLatencyStageNames.size(); ++s) {
    HistogramSnapshot& h = *StageOf(b.latency, s);
    uint64_t count = 0, sum = 0, min = 0, max = 0, non_empty = 0;
    if (!GetVarint(&in, &count) || !GetVarint(&in, &sum) || !GetVarint(&in, &min) ||
        !GetVarint(&in, &max) || !GetVarint(&in, &non_empty)) {
      return bad("truncated histogram");
    }
    if (non_empty > static_cast<uint64_t>(kLatencyBucketCount)) return bad("too many buckets");
    h.count = count;
    h.sum_ns = static_cast<int64_t>(sum);
    h.min_ns = static_cast<int64_t>(min);
    h.max_ns = static_cast<int64_t>(max);
    int64_t idx = -1;
    uint64_t total = 0;
    for (uint64_t k = 0; k < non_empty; ++k) {
      uint64_t delta = 0, c = 0;
      if (!GetVarint(&in, &delta) || !GetVarint(&in, &c)) return bad("truncated buckets");
      if (delta == 0 || delta > static_cast<uint64_t>(kLatencyBucketCount) ||
          idx + static_cast<int64_t>(delta) >= kLatencyBucketCount || c == 0) {
        return bad("bucket index out of the layout");
      }
      idx += static_cast<int64_t>(delta);
      h.buckets[idx] = c;
      total += c;
    }
    if (total != count) return bad("count is not the sum of its buckets");
  }
  if (!in.empty()) return bad("trailing bytes");
  return b;
}

MinuteWindows::MinuteWindows(Sources sources, MinuteWindowsOptions options)
    : sources_(sources), options_(options), published_(std::make_shared<Published>()) {}

absl::Status MinuteWindows::Load(
    const absl::StatusOr<std::vector<idempotency::MetaEntry>>& persisted, int64_t now_unix_ms) {
  if (!persisted.ok()) {
    if (persisted.status().code() == absl::StatusCode::kUnimplemented) {
      persist_ = false;
      return absl::OkStatus();
    }
    return persisted.status();
  }
  const int64_t now_minute = MinuteOf(now_unix_ms);
  const int64_t oldest = now_minute - (options_.keep_minutes - 1) * kMinuteMs;
  size_t undecodable = 0;
  for (const idempotency::MetaEntry& e : *persisted) {
    absl::StatusOr<MinuteBucket> b = DecodeMinuteBucket(e.value);
    if (!b.ok() || e.key != MinuteKey(b->minute_unix_ms)) {
      ++undecodable;  // left in place: an operator may look at it; never read again
      continue;
    }
    if (b->minute_unix_ms < oldest) {
      erase_keys_.push_back(e.key);
      continue;
    }
    minutes_[b->minute_unix_ms] = std::make_shared<const std::string>(e.value);
    // A minute this run may still fill (the one a crash interrupted): merged into, not replaced.
    if (b->minute_unix_ms >= now_minute) carried_.emplace(b->minute_unix_ms, std::move(*b));
  }
  Publish(now_unix_ms);
  if (undecodable > 0) {
    return absl::DataLossError(absl::StrCat(undecodable,
                                            " persisted minute(s) of the rolling "
                                            "windows cannot be read and are left out"));
  }
  return absl::OkStatus();
}

MinuteWindows::Cumulative MinuteWindows::Sample() const {
  Cumulative c;
  if (sources_.counters != nullptr) {
    const GatewayCounters& g = *sources_.counters;
    c.counts.sent = g.orders_submitted.load(std::memory_order_relaxed);
    c.counts.filled = g.orders_filled.load(std::memory_order_relaxed);
    c.counts.rejected = g.orders_rejected.load(std::memory_order_relaxed);
    c.counts.unknown = g.orders_unknown.load(std::memory_order_relaxed);
    c.counts.unknown_resolved = g.unknown_resolved.load(std::memory_order_relaxed);
    c.counts.conflicts = g.conflicts.load(std::memory_order_relaxed);
    c.counts.denied = g.denied.load(std::memory_order_relaxed);
    c.counts.store_unavailable = g.store_unavailable.load(std::memory_order_relaxed);
    c.counts.requests = g.requests.load(std::memory_order_relaxed);
  }
  if (sources_.window != nullptr) {
    const WindowCounters& w = *sources_.window;
    c.counts.accepted = w.accepted.load(std::memory_order_relaxed);
    c.counts.duplicate_requests = w.duplicate_requests.load(std::memory_order_relaxed);
    c.counts.duplicate_sends = w.duplicate_sends.load(std::memory_order_relaxed);
  }
  c.counts.cpu_ns = ProcessCpuNs();
  c.counts.rss_max_bytes = ResidentBytes();
  if (sources_.latency != nullptr) c.latency = sources_.latency->Snapshot();
  return c;
}

uint64_t MinuteWindows::ChangeStamp() const {
  if (sources_.counters == nullptr) return 0;
  // Every order event passes through a request or a store batch (an outcome, a timeout).
  return sources_.counters->requests.load(std::memory_order_relaxed) +
         sources_.counters->store_batches.load(std::memory_order_relaxed);
}

MinuteBucket MinuteWindows::CurrentBucket(const Cumulative& now, int64_t now_unix_ms) const {
  MinuteBucket b;
  b.minute_unix_ms = current_minute_ms_;
  MinuteCounts nc = now.counts;
  MinuteCounts base = baseline_.counts;
  auto out = Fields(b.counts);
  auto n = Fields(nc);
  auto o = Fields(base);
  for (size_t i = 0; i < kCountFields; ++i) *out[i] = Sub(*n[i], *o[i]);
  b.counts.rss_max_bytes = now.counts.rss_max_bytes;
  const int64_t end = std::min(now_unix_ms, current_minute_ms_ + kMinuteMs);
  b.counts.covered_ms = static_cast<uint64_t>(std::max<int64_t>(end - current_since_ms_, 0));
  b.latency = now.latency.Minus(baseline_.latency);
  if (auto it = carried_.find(current_minute_ms_); it != carried_.end()) {
    b.counts.Add(it->second.counts);
    for (size_t i = 0; i < kLatencyStageNames.size(); ++i) {
      StageOf(b.latency, i)->Merge(*StageOf(it->second.latency, i));
    }
  }
  return b;
}

const std::vector<idempotency::MetaWrite>* MinuteWindows::Tick(int64_t now_unix_ms,
                                                               bool force_flush) {
  const int64_t minute = MinuteOf(now_unix_ms);
  if (current_minute_ms_ < 0) {
    current_minute_ms_ = minute;
    current_since_ms_ = now_unix_ms;
    baseline_ = Sample();
    flushed_stamp_ = ChangeStamp();
    next_flush_ms_ = now_unix_ms + options_.flush_interval_ms;
    if (!force_flush) return nullptr;
  }
  bool due = false;
  if (minute > current_minute_ms_) {
    Cumulative now = Sample();
    MinuteBucket sealed = CurrentBucket(now, now_unix_ms);
    minutes_[current_minute_ms_] = std::make_shared<const std::string>(EncodeMinuteBucket(sealed));
    unpersisted_.push_back(current_minute_ms_);
    carried_.erase(current_minute_ms_);
    baseline_ = std::move(now);
    current_minute_ms_ = minute;
    current_since_ms_ = minute;
    flushed_stamp_ = ChangeStamp();
    next_flush_ms_ = now_unix_ms + options_.flush_interval_ms;
    const int64_t oldest = minute - (options_.keep_minutes - 1) * kMinuteMs;
    while (!minutes_.empty() && minutes_.begin()->first < oldest) {
      erase_keys_.push_back(MinuteKey(minutes_.begin()->first));
      minutes_.erase(minutes_.begin());
    }
    for (auto it = carried_.begin(); it != carried_.end() && it->first < minute;) {
      it = carried_.erase(it);
    }
    due = true;
  } else if (force_flush || now_unix_ms >= next_flush_ms_) {
    next_flush_ms_ = now_unix_ms + options_.flush_interval_ms;
    const uint64_t stamp = ChangeStamp();
    if (force_flush || stamp != flushed_stamp_ || !unpersisted_.empty() || !erase_keys_.empty()) {
      flushed_stamp_ = stamp;
      minutes_[current_minute_ms_] = std::make_shared<const std::string>(
          EncodeMinuteBucket(CurrentBucket(Sample(), now_unix_ms)));
      unpersisted_.push_back(current_minute_ms_);
      due = true;
    }
  }
  if (!due) return nullptr;
  Publish(now_unix_ms);
  if (!persist_) {
    unpersisted_.clear();
    erase_keys_.clear();
    return nullptr;
  }
  std::sort(unpersisted_.begin(), unpersisted_.end());
  unpersisted_.erase(std::unique(unpersisted_.begin(), unpersisted_.end()), unpersisted_.end());
  put_keys_.clear();
  for (int64_t m : unpersisted_) {
    if (minutes_.count(m) != 0) put_keys_.push_back(MinuteKey(m));
  }
  writes_.clear();
  size_t k = 0;
  for (int64_t m : unpersisted_) {
    auto it = minutes_.find(m);
    if (it == minutes_.end()) continue;
    writes_.push_back(idempotency::MetaWrite::Put(put_keys_[k++], *it->second));
  }
  for (const std::string& key : erase_keys_) writes_.push_back(idempotency::MetaWrite::Erase(key));
  tick_unix_ms_ = now_unix_ms;
  return writes_.empty() ? nullptr : &writes_;
}

void MinuteWindows::Persisted(const absl::Status& written) {
  if (written.ok()) {
    unpersisted_.clear();
    erase_keys_.clear();
    persisted_unix_ms_.store(tick_unix_ms_, std::memory_order_relaxed);
    if (warned_) spdlog::info("rolling windows: writing to the store works again");
    warned_ = false;
    return;
  }
  if (written.code() == absl::StatusCode::kUnimplemented) {
    spdlog::warn("rolling windows: the store keeps no metadata; windows cover this run only");
    persist_ = false;
    unpersisted_.clear();
    erase_keys_.clear();
    return;
  }
  if (!warned_) {
    spdlog::warn(
        "rolling windows: writing minute(s) to the store failed ({}); kept in memory and "
        "written again at the next flush",
        absl::StatusCodeToString(written.code()));
  }
  warned_ = true;
}

void MinuteWindows::Publish(int64_t now_unix_ms) {
  auto p = std::make_shared<Published>();
  p->minutes.reserve(minutes_.size());
  for (const auto& [minute, encoded] : minutes_) p->minutes.emplace_back(minute, encoded);
  p->at_unix_ms = now_unix_ms;
  std::shared_ptr<const Published> old;
  {
    std::lock_guard<std::mutex> l(mu_);
    old = std::move(published_);
    published_ = std::move(p);
  }
  // `old` is released here, outside the lock.
}

int64_t MinuteWindows::published_unix_ms() const {
  std::lock_guard<std::mutex> l(mu_);
  return published_->at_unix_ms;
}

WindowReport MinuteWindows::Read(int64_t window_s, int64_t now_unix_ms) const {
  std::shared_ptr<const Published> p;
  {
    std::lock_guard<std::mutex> l(mu_);
    p = published_;
  }
  WindowReport r;
  r.window_s = window_s;
  r.now_unix_ms = now_unix_ms;
  r.published_unix_ms = p->at_unix_ms;
  const int64_t minutes = std::max<int64_t>((window_s * 1000 + kMinuteMs - 1) / kMinuteMs, 1);
  r.first_minute_unix_ms = MinuteOf(now_unix_ms) - (minutes - 1) * kMinuteMs;
  auto it = std::lower_bound(p->minutes.begin(), p->minutes.end(), r.first_minute_unix_ms,
                             [](const std::pair<int64_t, std::shared_ptr<const std::string>>& e,
                                int64_t m) { return e.first < m; });
  const int64_t last_minute = MinuteOf(now_unix_ms);
  for (; it != p->minutes.end() && it->first <= last_minute; ++it) {
    absl::StatusOr<MinuteBucket> b = DecodeMinuteBucket(*it->second);
    if (!b.ok()) continue;  // encoded by this process: cannot happen
    ++r.minutes_with_data;
    r.counts.Add(b->counts);
    r.peak_minute_accepted = std::max(r.peak_minute_accepted, b->counts.accepted);
    for (size_t i = 0; i < kLatencyStageNames.size(); ++i) {
      StageOf(r.latency, i)->Merge(*StageOf(b->latency, i));
    }
  }
  return r;
}

void AdvanceMinuteWindows(MinuteWindows& windows, idempotency::Store& store, int64_t now_unix_ms,
                          bool force_flush) {
  if (const std::vector<idempotency::MetaWrite>* due = windows.Tick(now_unix_ms, force_flush)) {
    windows.Persisted(store.WriteMeta(*due));
  }
}

}  // namespace ordergate::gateway
