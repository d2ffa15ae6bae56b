// The --embedded load (see embedded_load.h).
#include "bench/embedded_load.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench/harness_clock.h"
#include "bench/load_run.h"
#include "bench/process_cpu.h"
#include "bench/retry_queue.h"
#include "ordergate/gateway.h"

namespace ordergate::bench {
namespace {

// An Outcome as the socket path classifies a reply: FILLED, UNKNOWN, REJECTED, or "error" for a
// refusal the wire sends with status "error" (the reply object says which).
Status StatusOf(const ordergate::Outcome& out) {
  switch (out.status) {
    case ordergate::OutcomeStatus::kFilled:
      return Status::kFilled;
    case ordergate::OutcomeStatus::kUnknown:
      return Status::kUnknown;
    case ordergate::OutcomeStatus::kInFlight:
      return Status::kOther;  // only Gateway::Status() answers it
    case ordergate::OutcomeStatus::kRejected:
      break;
  }
  return StringMember(out.reply_json, "\"status\":\"") == "error" ? Status::kError
                                                                  : Status::kRejected;
}

void AppendIndex(const std::string& prefix, int64_t index, std::string* uuid) {
  uuid->assign(prefix);
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, index);
  uuid->append(digits, static_cast<size_t>(r.ptr - digits));
}

// What every submitting thread of one run shares: the schedule and the dense uuid indices.
struct Schedule {
  int threads = 1;
  int64_t limit = 0;  // orders in this run (INT64_MAX: until issue_end_ns)
  int64_t start_ns = 0, measure_start_ns = 0, issue_end_ns = 0;
  std::atomic<int64_t> next_index{0};
  std::atomic<int> issuing_done_threads{0};  // threads past their last send
  std::atomic<int> finished_threads{0};
};

// One submitting thread: issues its share of the orders and accounts for their outcomes, which the
// gateway's callbacks queue to it.
class Submitter {
 public:
  Submitter(const Options& opt, ordergate::Gateway* gw, Schedule* schedule, std::string prefix,
            uint32_t id)
      : opt_(opt), gw_(gw), sched_(schedule), id_(id), rng_(opt.seed + id) {
    result_.target = "ordergate";
    result_.prefix = std::move(prefix);
    order_.symbol = opt.symbol;
    order_.type = ordergate::TradeType::kBuy;
    order_.volume = opt.volume;
    conflict_order_ = order_;
    conflict_order_.volume = opt.volume * 2;
  }

  // The thread's body: the run from the schedule's start to its drain.
  void Run() {
    Loop();
    sched_->finished_threads.fetch_add(1, std::memory_order_release);
  }

  // Read after the thread was joined.
  RunResult& result() { return result_; }

  // Progress counters, read by the coordinating thread while the run goes on.
  std::atomic<int64_t> issued_now{0}, finished_now{0}, filled_now{0};

 private:
  struct Slot {
    int64_t intended_ns = 0;
    int64_t final_ns = 0;  // 0 until the first final outcome
    int64_t index = 0;     // the uuid's number
    uint16_t outstanding = 0;
    bool retry_after = false;
    bool measured = false;
  };
  struct Completion {
    uint32_t local = 0;  // slots_ index
    bool conflict = false;
    Status st = Status::kOther;
    bool duplicate = false;
    int64_t now_ns = 0;
    std::string code;
  };

  // The gateway's callback, on its pipeline thread (or on this thread, inside Submit(), for a
  // refusal): the timestamp, then the outcome to the queue. Never blocks beyond the queue's mutex.
  void OnOutcome(uint64_t packed, const ordergate::Outcome& out) {
    Completion c;
    c.now_ns = NowNs();
    c.local = static_cast<uint32_t>(packed >> 1);
    c.conflict = (packed & 1) != 0;
    c.st = StatusOf(out);
    c.duplicate = out.duplicate;
    c.code = out.error_code;
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(c));
      wake = waiting_;
    }
    if (wake) cv_.notify_one();
  }

  void Submit(uint32_t local, bool conflict) {
    Slot& s = slots_[local];
    ordergate::Order& o = conflict ? conflict_order_ : order_;
    AppendIndex(result_.prefix, s.index, &o.uuid);
    ++s.outstanding;
    ++outstanding_;
    ++result_.sent;
    const uint64_t packed = (static_cast<uint64_t>(local) << 1) | (conflict ? 1 : 0);
    Submitter* self = this;  // alive until the gateway closes (EmbeddedGateway::KeepUntilClosed)
    gw_->Submit(o, [self, packed](const ordergate::Outcome& out) { self->OnOutcome(packed, out); });
  }

  bool MayIssue(int64_t t) const { return !exhausted_ && t < sched_->issue_end_ns; }

  bool Issue(int64_t intended_ns) {
    const int64_t index = sched_->next_index.fetch_add(1, std::memory_order_relaxed);
    if (index >= sched_->limit) {
      exhausted_ = true;
      return false;
    }
    const auto local = static_cast<uint32_t>(slots_.size());
    Slot& s = slots_.emplace_back();
    s.intended_ns = intended_ns;
    s.index = index;
    s.measured = intended_ns >= sched_->measure_start_ns;
    ++inflight_;
    ++result_.issued;
    ++result_.fates_all.orders;
    if (s.measured) {
      ++result_.measured;
      ++result_.fates.orders;
    }
    // How late this thread submits (open loop): if it grows, the harness is the bottleneck.
    if (opt_.rate > 0 && s.measured) result_.send_lag.Add(NowNs() - intended_ns);
    issued_now.fetch_add(1, std::memory_order_relaxed);
    Submit(local, false);
    const double r = coin_(rng_);
    if (r < opt_.retry_ratio / 2) {
      Submit(local, false);  // a retry while the original is in flight: it joins it
      ++result_.sent_retries;
    } else if (r < opt_.retry_ratio) {
      slots_[local].retry_after = true;  // a retry once the outcome came: a replay
    }
    if (opt_.conflict_ratio > 0 && coin_(rng_) < opt_.conflict_ratio) {
      Submit(local, true);
      ++result_.sent_conflicts;
    }
    return true;
  }

  void Refill(int64_t now) {
    while (inflight_ < opt_.window && MayIssue(now) && Issue(now)) {
    }
  }

  void Handle(const Completion& c) {
    ++result_.replies;
    ++result_.by_status[static_cast<size_t>(c.st)];
    if (!c.code.empty()) result_.reply_codes.Add(c.code);
    if (c.duplicate) ++result_.duplicate_replies;
    last_reply_ns_ = c.now_ns;
    Slot& s = slots_[c.local];
    if (s.outstanding > 0) {
      --s.outstanding;
      --outstanding_;
    } else {
      ++result_.stray_replies;
    }
    if (c.code == "IDEMPOTENCY_CONFLICT") return;  // the conflicting copy's own answer
    if (s.final_ns != 0) return;
    s.final_ns = c.now_ns;
    ++result_.finished;
    --inflight_;
    finished_now.fetch_add(1, std::memory_order_relaxed);
    RecordFate(c.st, c.code, &result_.fates_all);
    if (s.measured) {
      RecordFate(c.st, c.code, &result_.fates);
      (c.st == Status::kFilled ? result_.filled_ns : result_.not_filled_ns)
          .push_back(c.now_ns - s.intended_ns);
      last_measured_final_ns_ = std::max(last_measured_final_ns_, c.now_ns);
    }
    if (c.st == Status::kFilled) filled_now.fetch_add(1, std::memory_order_relaxed);
    if (s.retry_after) {
      s.retry_after = false;
      retries_.Push(c.now_ns + opt_.retry_delay_ms * kNsPerMs, c.local);
    }
    if (opt_.rate == 0) Refill(NowNs());
  }

  void Drain() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      work_.swap(queue_);
    }
    for (const Completion& c : work_) Handle(c);
    work_.clear();
  }

  // Sleeps until `wake_ns` or an outcome, whichever comes first.
  void WaitUntil(int64_t wake_ns) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!queue_.empty()) return;
    waiting_ = true;
    cv_.wait_until(lock, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(wake_ns)),
                   [this] { return !queue_.empty(); });
    waiting_ = false;
  }

  void Loop() {
    const bool open = opt_.rate > 0;
    const int threads = sched_->threads;
    // Uniform: the threads take turns on one schedule (order n at start + n / rate, thread n mod
    // threads). Poisson: each thread an independent Poisson stream of rate / threads, whose
    // superposition is a Poisson stream of --rate.
    const double global_gap_ns = open ? 1e9 / opt_.rate : 0;
    const double thread_gap_ns = global_gap_ns * threads;
    std::exponential_distribution<double> gap(1.0);
    double next_intended =
        static_cast<double>(sched_->start_ns) +
        (opt_.poisson ? gap(rng_) * thread_gap_ns : global_gap_ns * static_cast<double>(id_));
    while (NowNs() < sched_->start_ns) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!open) Refill(NowNs());
    int64_t drain_deadline = INT64_MAX;
    for (;;) {
      int64_t now = NowNs();
      if (open) {
        while (static_cast<int64_t>(next_intended) <= now &&
               MayIssue(static_cast<int64_t>(next_intended)) &&
               Issue(static_cast<int64_t>(next_intended))) {
          next_intended += opt_.poisson ? gap(rng_) * thread_gap_ns : thread_gap_ns;
        }
      }
      result_.sent_retries +=
          retries_.PopDue(now, [this](uint32_t local) { Submit(local, false); });
      Drain();
      now = NowNs();
      // Closed loop with the window full and no outcome for --drain-ms: the gateway stopped
      // answering; stop issuing so that the run ends (its orders count as without a final outcome).
      if (!open && outstanding_ > 0 &&
          now - std::max(last_reply_ns_, sched_->start_ns) > opt_.drain_ms * kNsPerMs) {
        exhausted_ = true;
      }
      const bool issuing = open ? MayIssue(static_cast<int64_t>(next_intended)) : MayIssue(now);
      if (!issuing) {
        if (drain_deadline == INT64_MAX) {
          drain_deadline = now + opt_.drain_ms * kNsPerMs;
          sched_->issuing_done_threads.fetch_add(1, std::memory_order_release);
        }
        if (outstanding_ == 0 && retries_.empty() &&
            result_.finished == static_cast<int64_t>(slots_.size())) {
          break;
        }
        if (now >= drain_deadline) break;
      }
      int64_t wake = now + kNsPerS;  // at least once a second: the closed loop's stall check
      if (open && issuing) wake = std::min(wake, static_cast<int64_t>(next_intended));
      if (!open && issuing && sched_->issue_end_ns != INT64_MAX) {
        wake = std::min(wake, sched_->issue_end_ns);
      }
      if (!retries_.empty()) wake = std::min(wake, retries_.next_due_ns());
      wake = std::min(wake, drain_deadline);
      WaitUntil(wake);
    }
    result_.unanswered_submissions = outstanding_;
    result_.window_ns = std::max<int64_t>(0, last_measured_final_ns_ - sched_->measure_start_ns);
  }

  const Options& opt_;
  ordergate::Gateway* gw_;
  Schedule* sched_;
  const uint32_t id_;
  RunResult result_;
  ordergate::Order order_, conflict_order_;
  std::vector<Slot> slots_;
  RetryQueue retries_;
  int inflight_ = 0;          // orders without a final outcome
  uint64_t outstanding_ = 0;  // submissions without an outcome
  bool exhausted_ = false;
  int64_t last_reply_ns_ = 0;
  int64_t last_measured_final_ns_ = 0;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  std::vector<Completion> work_;  // this thread's, swapped with queue_

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Completion> queue_;  // guarded by mu_
  bool waiting_ = false;           // guarded by mu_
};

// Until every thread ended: the CPU window (process_cpu.h) from the end of the warm-up to the last
// send of every thread, and one progress line a second on stderr (sums of the threads' counters).
void Coordinate(const Options& opt, const Schedule& sched,
                const std::vector<std::shared_ptr<Submitter>>& subs, ProcessCpuWindow* cpu) {
  int64_t last_done = 0, last_filled = 0;
  int64_t next = sched.start_ns + kNsPerS;
  const auto finished = [&subs] {
    int64_t done = 0;
    for (const auto& s : subs) done += s->finished_now.load(std::memory_order_relaxed);
    return done;
  };
  while (sched.finished_threads.load(std::memory_order_acquire) < sched.threads) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int64_t now = NowNs();
    if (!cpu->started() && now >= sched.measure_start_ns) cpu->Start(now, finished());
    if (!cpu->stopped() &&
        sched.issuing_done_threads.load(std::memory_order_acquire) >= sched.threads) {
      if (!cpu->started()) cpu->Start(now, finished());  // a run that ended in its warm-up
      cpu->Stop(now, finished());
    }
    if (now < next) continue;
    next += kNsPerS;
    if (!opt.progress) continue;
    int64_t issued = 0, filled = 0;
    const int64_t done = finished();
    for (const auto& s : subs) {
      issued += s->issued_now.load(std::memory_order_relaxed);
      filled += s->filled_now.load(std::memory_order_relaxed);
    }
    std::fprintf(stderr,
                 "[ordergate (embedded)] %6.1f s  sent %lld orders  completed %lld (FILLED %lld)  "
                 "last 1 s: %lld/s completed, %lld/s FILLED%s\n",
                 static_cast<double>(now - sched.start_ns) / 1e9, static_cast<long long>(issued),
                 static_cast<long long>(done), static_cast<long long>(filled),
                 static_cast<long long>(done - last_done),
                 static_cast<long long>(filled - last_filled),
                 now < sched.measure_start_ns ? "  (warm-up)" : "");
    last_done = done;
    last_filled = filled;
  }
}

}  // namespace

RunResult RunEmbeddedLoad(const Options& opt, EmbeddedGateway& gw, const std::string& prefix,
                          int64_t orders) {
  auto sched = std::make_shared<Schedule>();
  const bool open = opt.rate > 0;
  sched->threads = opt.clients;
  sched->limit =
      orders > 0
          ? orders
          : (open ? static_cast<int64_t>(std::ceil(opt.rate * (opt.warmup_s + opt.duration_s)))
                  : INT64_MAX);
  sched->start_ns = NowNs() + 20 * kNsPerMs;
  sched->measure_start_ns = sched->start_ns + static_cast<int64_t>(opt.warmup_s * 1e9);
  sched->issue_end_ns = opt.duration_s > 0
                            ? sched->measure_start_ns + static_cast<int64_t>(opt.duration_s * 1e9)
                            : INT64_MAX;
  gw.KeepUntilClosed(sched);
  std::vector<std::shared_ptr<Submitter>> subs;
  for (int t = 0; t < opt.clients; ++t) {
    subs.push_back(std::make_shared<Submitter>(opt, &gw.gateway(), sched.get(), prefix,
                                               static_cast<uint32_t>(t)));
    gw.KeepUntilClosed(subs.back());
  }
  // CPU per order: the gateway is this process (the submitting threads included); the simulator
  // when --bridge-pid names it.
  ProcessCpuWindow cpu;
  cpu.Add("gateway", "this process: the embedded gateway and the harness", getpid());
  cpu.Add("bridge", "ordergate-bridge-sim", opt.bridge_pid);
  std::vector<std::thread> threads;
  threads.reserve(subs.size());
  for (const auto& s : subs) threads.emplace_back([s] { s->Run(); });
  Coordinate(opt, *sched, subs, &cpu);
  for (std::thread& t : threads) t.join();

  RunResult out;
  out.target = "ordergate";
  out.prefix = prefix;
  int64_t window_ns = 0;
  for (const auto& s : subs) {
    Merge(s->result(), &out);
    window_ns = std::max(window_ns, s->result().window_ns);
  }
  out.window_ns = window_ns;  // the threads ran at once: the longest window, not their sum
  cpu.Fill(&out);
  std::sort(out.filled_ns.begin(), out.filled_ns.end());
  std::sort(out.not_filled_ns.begin(), out.not_filled_ns.end());
  return out;
}

RunResult RunSubmitAndWait(const Options& opt, EmbeddedGateway& gw, const std::string& prefix,
                           int64_t orders) {
  RunResult r;
  r.target = "ordergate";
  r.prefix = prefix;
  ordergate::Order o;
  o.symbol = opt.symbol;
  o.type = ordergate::TradeType::kBuy;
  o.volume = opt.volume;
  const int64_t start_ns = NowNs();
  int64_t last_ns = start_ns;
  for (int64_t i = 0; i < orders; ++i) {
    AppendIndex(prefix, i, &o.uuid);
    ++r.issued;
    ++r.measured;
    ++r.fates.orders;
    ++r.fates_all.orders;
    ++r.sent;
    const int64_t t0 = NowNs();
    const ordergate::Outcome out = gw.gateway().SubmitAndWait(o);
    last_ns = NowNs();
    const Status st = StatusOf(out);
    ++r.replies;
    ++r.finished;
    ++r.by_status[static_cast<size_t>(st)];
    if (!out.error_code.empty()) r.reply_codes.Add(out.error_code);
    if (out.duplicate) ++r.duplicate_replies;
    RecordFate(st, out.error_code, &r.fates);
    RecordFate(st, out.error_code, &r.fates_all);
    (st == Status::kFilled ? r.filled_ns : r.not_filled_ns).push_back(last_ns - t0);
  }
  r.window_ns = last_ns - start_ns;
  std::sort(r.filled_ns.begin(), r.filled_ns.end());
  std::sort(r.not_filled_ns.begin(), r.not_filled_ns.end());
  return r;
}

}  // namespace ordergate::bench
