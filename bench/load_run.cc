// The load loop (see load_run.h).
#include "bench/load_run.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/harness_clock.h"
#include "bench/process_cpu.h"
#include "bench/retry_queue.h"
#include "gateway/latency_histogram.h"
#include "transport/codec.h"
#include "transport/order.h"
#include "transport/signing.h"

namespace ordergate::bench {
namespace {

class LoadRun {
 public:
  using Kind = LoadKind;

  LoadRun(const Options& opt, void* ctx, Kind kind, std::string endpoint, std::string prefix)
      : opt_(opt), ctx_(ctx), kind_(kind), endpoint_(std::move(endpoint)) {
    result_.target = kind == Kind::kGateway ? "ordergate" : "baseline";
    result_.prefix = std::move(prefix);
  }

  RunResult Run(int64_t orders) {
    if (!Setup(orders)) return std::move(result_);
    Loop();
    Teardown();
    std::sort(result_.filled_ns.begin(), result_.filled_ns.end());
    std::sort(result_.not_filled_ns.begin(), result_.not_filled_ns.end());
    return std::move(result_);
  }

  // Set before Run(): called once at the end of the warm-up (or at the start without one), on the
  // load thread.
  std::function<void()> on_measure_start;

 private:
  struct Slot {
    int64_t intended_ns = 0;
    int64_t final_ns = 0;  // 0 until the first final reply
    uint32_t client = 0;
    uint16_t outstanding = 0;  // submissions sent and not answered
    bool retry_after = false;  // send again once the reply came
    bool measured = false;
  };

  bool Setup(int64_t orders) {
    const bool open = opt_.rate > 0;
    limit_ =
        orders > 0
            ? orders
            : (open ? static_cast<int64_t>(std::ceil(opt_.rate * (opt_.warmup_s + opt_.duration_s)))
                    : INT64_MAX);
    const int64_t reserve =
        limit_ != INT64_MAX ? limit_
                            : static_cast<int64_t>(300000 * (opt_.warmup_s + opt_.duration_s + 1));
    slots_.reserve(static_cast<size_t>(reserve));
    result_.filled_ns.reserve(static_cast<size_t>(reserve));
    retries_.Reserve(static_cast<size_t>(reserve) / 2 + 16);
    inflight_.assign(static_cast<size_t>(opt_.clients), 0);
    dirty_.assign(static_cast<size_t>(opt_.clients), 1);

    // Bodies: a head before the uuid and a tail after it, for the order and for its conflict.
    const std::string vol = absl::StrCat(opt_.volume);
    const std::string vol2 = absl::StrCat(opt_.volume * 2);
    if (kind_ == Kind::kGateway) {
      head_ = "{\"action\":\"OPEN\",\"uuid\":\"";
      tail_ = absl::StrCat("\",\"symbol\":\"", opt_.symbol, "\",\"type\":\"BUY\",\"volume\":", vol,
                           ",\"timeout_ms\":", opt_.timeout_ms, "}");
      tail_conflict_ =
          absl::StrCat("\",\"symbol\":\"", opt_.symbol, "\",\"type\":\"BUY\",\"volume\":", vol2,
                       ",\"timeout_ms\":", opt_.timeout_ms, "}");
    } else {
      // What ordergate itself would send the bridge for this order: decode the front-end request
      // the gateway run sends, encode it the gateway's way, sign each send afresh (SendOrder).
      for (int which = 0; which < 2; ++which) {
        const std::string body =
            absl::StrCat("{\"action\":\"OPEN\",\"uuid\":\"x\",\"symbol\":\"", opt_.symbol,
                         "\",\"type\":\"BUY\",\"volume\":", which == 0 ? vol : vol2, "}");
        ordergate::Request& req = which == 0 ? bridge_req_ : bridge_req_conflict_;
        if (ordergate::DecodeRequest(body, ordergate::DecodeLimits{}, UnixUs(), &req) !=
            ordergate::ErrorCode::kOk) {
          result_.error = "cannot encode the baseline's bridge request";
          return false;
        }
        ordergate::CanonicalOrderFields(req, which == 0 ? &canonical_ : &canonical_conflict_);
      }
      signature_.reserve(128);
    }
    body_.reserve(1024);
    uuid_.reserve(128);

    // Sockets: one DEALER per client, unlimited queues (the load, not a queue limit, is measured).
    for (int c = 0; c < opt_.clients; ++c) {
      void* s = zmq_socket(ctx_, ZMQ_DEALER);
      const int zero = 0;
      zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
      zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
      zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
      if (kind_ == Kind::kGateway && !opt_.curve_server_z85.empty()) {
        // CURVE to the daemon (--curve-server-key): each client is the harness's allowlisted key.
        const std::string& server = opt_.curve_server_z85;
        const std::string& pub = opt_.curve_public_z85;
        const std::string& sec = opt_.curve_secret_z85;
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server.data(), server.size());
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub.data(), pub.size());
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec.data(), sec.size());
      }
      if (zmq_connect(s, endpoint_.c_str()) != 0) {
        result_.error = absl::StrCat("cannot connect to ", endpoint_, ": ", zmq_strerror(errno));
        zmq_close(s);
        Teardown();
        return false;
      }
      socks_.push_back(s);
      int fd = -1;
      size_t len = sizeof fd;
      zmq_getsockopt(s, ZMQ_FD, &fd, &len);
      fds_.push_back(pollfd{fd, POLLIN, 0});
    }
    // A PING per client proves the path end to end before the clock starts (the gateway answers it
    // itself; through the forwarder the simulator does).
    for (int c = 0; c < opt_.clients; ++c) {
      const std::string ping =
          absl::StrCat("{\"action\":\"PING\",\"uuid\":\"", result_.prefix, "ping", c, "\"}");
      Send(c, ping);
    }
    int answered = 0;
    const int64_t deadline = NowNs() + 5 * kNsPerS;
    std::vector<zmq_pollitem_t> items;
    for (void* s : socks_) items.push_back(zmq_pollitem_t{s, 0, ZMQ_POLLIN, 0});
    while (answered < opt_.clients && NowNs() < deadline) {
      zmq_poll(items.data(), static_cast<int>(items.size()), 100);
      for (size_t c = 0; c < socks_.size(); ++c) {
        while (Recv(socks_[c]) >= 0) ++answered;
      }
    }
    if (answered < opt_.clients) {
      result_.error = absl::StrCat("no answer to PING from ", endpoint_, " within 5 s");
      Teardown();
      return false;
    }
    AddCpuProcesses();
    return true;
  }

  // The processes whose CPU time per order the report shows (process_cpu.h): the gateway
  // (--gateway-pid; with --embedded and none given, this process, harness included) or the
  // forwarder (the ordergate-forwarder child of this process), the simulator (--bridge-pid) and
  // this process (the harness), unless it is already the gateway.
  void AddCpuProcesses() {
    const pid_t self = getpid();
    const bool gateway_is_self = kind_ == Kind::kGateway && opt_.embedded && opt_.gateway_pid <= 0;
    if (kind_ == Kind::kGateway) {
      cpu_.Add("gateway", "ordergated", opt_.gateway_pid);
      if (gateway_is_self) {
        cpu_.Add("gateway", "this process: the embedded gateway and the harness", self);
      }
    } else {
      cpu_.Add("forwarder", "ordergate-forwarder", FindChildProcess("ordergate-forwarder"));
    }
    cpu_.Add("bridge", "ordergate-bridge-sim", opt_.bridge_pid);
    if (!gateway_is_self) cpu_.Add("harness", "this process (ordergate-bench)", self);
  }

  void Teardown() {
    for (void* s : socks_) zmq_close(s);
    socks_.clear();
    fds_.clear();
  }

  // Returns the body length, or -1 when nothing (more) is waiting. Skips the empty delimiter.
  int Recv(void* s) {
    for (;;) {
      const int n = zmq_recv(s, buf_.data(), kBufBytes, ZMQ_DONTWAIT);
      if (n < 0) return -1;
      int more = 0;
      size_t len = sizeof more;
      zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len);
      if (n == 0 && more) continue;  // the delimiter
      while (more) {                 // not the contract's framing: drop the rest
        zmq_recv(s, buf_.data(), kBufBytes, ZMQ_DONTWAIT);
        zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len);
      }
      return std::min(n, kBufBytes);
    }
  }

  bool Send(int c, std::string_view body) {
    void* s = socks_[static_cast<size_t>(c)];
    dirty_[static_cast<size_t>(c)] = 1;
    if (zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) != 0 ||
        zmq_send(s, body.data(), body.size(), ZMQ_DONTWAIT) < 0) {
      ++result_.send_failures;
      return false;
    }
    return true;
  }

  void FormatUuid(uint32_t index) {
    uuid_.assign(result_.prefix);
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, index);
    uuid_.append(digits, static_cast<size_t>(r.ptr - digits));
  }

  // Sends order `index` (again) on its client's socket.
  void Submit(uint32_t index, bool conflict) {
    Slot& s = slots_[index];
    FormatUuid(index);
    body_.clear();
    if (kind_ == Kind::kGateway) {
      body_.append(head_).append(uuid_).append(conflict ? tail_conflict_ : tail_);
    } else {
      ordergate::Request& req = conflict ? bridge_req_conflict_ : bridge_req_;
      req.uuid.value.Assign(uuid_);
      signature_.clear();
      ordergate::AppendRiskSignature(conflict ? canonical_conflict_ : canonical_, UnixUs(),
                                     &signature_);
      ordergate::EncodeBridgeRequest(req, signature_, &body_);
    }
    if (!Send(static_cast<int>(s.client), body_)) return;
    ++s.outstanding;
    ++outstanding_;
    ++result_.sent;
  }

  void Issue(uint32_t client, int64_t intended_ns) {
    const auto index = static_cast<uint32_t>(slots_.size());
    Slot& s = slots_.emplace_back();
    s.intended_ns = intended_ns;
    s.client = client;
    s.measured = intended_ns >= measure_start_ns_;
    ++inflight_[client];
    ++result_.issued;
    ++result_.fates_all.orders;
    if (s.measured) {
      ++result_.measured;
      ++result_.fates.orders;
    }
    // How late the harness itself sends (open-loop): if this grows, the harness is the bottleneck.
    if (opt_.rate > 0 && s.measured) result_.send_lag.Add(NowNs() - intended_ns);
    Submit(index, false);
    const double r = coin_(rng_);
    if (r < opt_.retry_ratio / 2) {
      Submit(index, false);  // a retry while the original is in flight
      ++result_.sent_retries;
    } else if (r < opt_.retry_ratio) {
      slots_[index].retry_after = true;  // a retry once the reply came
    }
    if (opt_.conflict_ratio > 0 && coin_(rng_) < opt_.conflict_ratio) {
      Submit(index, true);
      ++result_.sent_conflicts;
    }
  }

  bool MayIssue(int64_t now) const {
    return static_cast<int64_t>(slots_.size()) < limit_ && now < issue_end_ns_;
  }

  void RefillClosedLoop(uint32_t c, int64_t now) {
    while (inflight_[c] < opt_.window && MayIssue(now)) Issue(c, now);
  }

  void OnReply(uint32_t c, std::string_view body, int64_t now) {
    ++result_.replies;
    const std::string_view uuid = StringMember(body, "\"uuid\":\"");
    const Status st = ClassifyStatus(StringMember(body, "\"status\":\""));
    const std::string_view code = StringMember(body, "\"error_code\":\"");
    ++result_.by_status[static_cast<size_t>(st)];
    if (!code.empty()) result_.reply_codes.Add(code);
    if (body.find("\"duplicate\":true") != std::string_view::npos) ++result_.duplicate_replies;
    uint32_t index = 0;
    if (uuid.size() <= result_.prefix.size() ||
        uuid.substr(0, result_.prefix.size()) != result_.prefix ||
        std::from_chars(uuid.data() + result_.prefix.size(), uuid.data() + uuid.size(), index).ec !=
            std::errc() ||
        index >= slots_.size()) {
      ++result_.stray_replies;
      return;
    }
    last_reply_ns_ = now;
    Slot& s = slots_[index];
    if (s.outstanding > 0) {
      --s.outstanding;
      --outstanding_;
    } else {
      ++result_.stray_replies;
    }
    if (st == Status::kPending) {
      if (s.final_ns == 0) {  // still in flight: ask again with the same order, as a strategy does
        Submit(index, false);
        ++result_.sent_followups;
      }
      return;
    }
    if (st == Status::kRejected && code == "IDEMPOTENCY_CONFLICT") return;  // the conflicting copy
    if (s.final_ns != 0) return;
    s.final_ns = now;
    ++result_.finished;
    --inflight_[c];
    progress_hist_.Add(now - s.intended_ns);
    RecordFate(st, code, &result_.fates_all);
    if (s.measured) {
      RecordFate(st, code, &result_.fates);
      // FILLED orders' latency apart: a refusal is fast and is not a result.
      (st == Status::kFilled ? result_.filled_ns : result_.not_filled_ns)
          .push_back(now - s.intended_ns);
      last_measured_final_ns_ = now;
    }
    if (st == Status::kFilled) ++filled_since_progress_;
    ++done_since_progress_;
    if (s.retry_after) {
      s.retry_after = false;
      retries_.Push(now + opt_.retry_delay_ms * kNsPerMs, index);
    }
    if (opt_.rate == 0) RefillClosedLoop(c, now);
  }

  // Drains the sockets whose ZMQ_FD signalled and those sent on since the last drain (a send may
  // consume the notification of a reply already queued). Each is read until EAGAIN, which re-arms
  // its ZMQ_FD; the others cost nothing.
  void DrainReady() {
    for (size_t c = 0; c < socks_.size(); ++c) {
      if (!dirty_[c] && (fds_[c].revents & POLLIN) == 0) continue;
      dirty_[c] = 0;
      fds_[c].revents = 0;
      for (;;) {
        const int n = Recv(socks_[c]);
        if (n < 0) break;
        OnReply(static_cast<uint32_t>(c), std::string_view(buf_.data(), static_cast<size_t>(n)),
                NowNs());
      }
    }
  }

  void Progress(int64_t now) {
    const double t = static_cast<double>(now - start_ns_) / 1e9;
    const double dt = static_cast<double>(now - last_progress_ns_) / 1e9;
    std::fprintf(stderr,
                 "[%s] %6.1f s  sent %lld orders  completed %lld (FILLED %llu)  last 1 s: "
                 "%.0f/s completed, %.0f/s FILLED, p99 %.0f us%s\n",
                 result_.target.c_str(), t, static_cast<long long>(slots_.size()),
                 static_cast<long long>(result_.finished),
                 static_cast<unsigned long long>(result_.fates_all.filled),
                 static_cast<double>(done_since_progress_) / dt,
                 static_cast<double>(filled_since_progress_) / dt,
                 static_cast<double>(progress_hist_.ValueAtQuantile(0.99)) / 1000.0,
                 now < measure_start_ns_ ? "  (warm-up)" : "");
    done_since_progress_ = 0;
    filled_since_progress_ = 0;
    progress_hist_ = gateway::HistogramSnapshot{};
    last_progress_ns_ = now;
  }

  void Loop() {
    const bool open = opt_.rate > 0;
    start_ns_ = NowNs() + 20 * kNsPerMs;
    measure_start_ns_ = start_ns_ + static_cast<int64_t>(opt_.warmup_s * 1e9);
    issue_end_ns_ = opt_.duration_s > 0
                        ? measure_start_ns_ + static_cast<int64_t>(opt_.duration_s * 1e9)
                        : INT64_MAX;
    last_progress_ns_ = start_ns_;
    int64_t next_progress = start_ns_ + kNsPerS;
    bool measure_started = false;
    const double mean_gap_ns = open ? 1e9 / opt_.rate : 0;
    std::exponential_distribution<double> gap(1.0);
    double next_intended = static_cast<double>(start_ns_);
    uint32_t next_client = 0;
    int64_t drain_deadline = INT64_MAX;
    while (NowNs() < start_ns_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!open) {
      for (uint32_t c = 0; c < socks_.size(); ++c) RefillClosedLoop(c, NowNs());
    }
    for (;;) {
      int64_t now = NowNs();
      if (!measure_started && now >= measure_start_ns_) {
        measure_started = true;
        cpu_.Start(now, result_.finished);
        if (on_measure_start) on_measure_start();
      }
      if (open) {
        while (static_cast<int64_t>(next_intended) <= now &&
               MayIssue(static_cast<int64_t>(next_intended))) {
          Issue(next_client, static_cast<int64_t>(next_intended));
          next_client = (next_client + 1) % static_cast<uint32_t>(socks_.size());
          next_intended += opt_.poisson ? gap(rng_) * mean_gap_ns : mean_gap_ns;
        }
      }
      result_.sent_retries +=
          retries_.PopDue(now, [this](uint32_t index) { Submit(index, false); });
      DrainReady();
      now = NowNs();
      if (now >= next_progress) {
        if (opt_.progress) Progress(now);
        next_progress += kNsPerS;
      }
      // Closed loop with every window full and no reply for --drain-ms: the target stopped
      // answering; stop issuing so the run ends (its orders count as without a final outcome).
      if (!open && outstanding_ > 0 &&
          now - std::max(last_reply_ns_, start_ns_) > opt_.drain_ms * kNsPerMs) {
        limit_ = static_cast<int64_t>(slots_.size());
      }
      const bool issuing = open ? MayIssue(static_cast<int64_t>(next_intended)) : MayIssue(now);
      if (!issuing) {
        cpu_.Stop(now, result_.finished);  // the CPU window ends with the last send
        if (drain_deadline == INT64_MAX) drain_deadline = now + opt_.drain_ms * kNsPerMs;
        if (outstanding_ == 0 && retries_.empty() &&
            result_.finished == static_cast<int64_t>(slots_.size())) {
          break;
        }
        if (now >= drain_deadline) break;
      }
      int64_t wake = next_progress;
      if (open && issuing) wake = std::min(wake, static_cast<int64_t>(next_intended));
      if (!open && issuing && issue_end_ns_ != INT64_MAX) wake = std::min(wake, issue_end_ns_);
      if (!retries_.empty()) wake = std::min(wake, retries_.next_due_ns());
      if (!measure_started) wake = std::min(wake, measure_start_ns_);
      wake = std::min(wake, drain_deadline);
      // Blocks until a reply or the next thing due (0: only refreshes which sockets are ready).
      const int64_t wait_ns = std::max<int64_t>(0, wake - NowNs());
      const timespec ts{static_cast<time_t>(wait_ns / kNsPerS),
                        static_cast<long>(wait_ns % kNsPerS)};
      if (ppoll(fds_.data(), fds_.size(), &ts, nullptr) < 0) {
        for (pollfd& p : fds_) p.revents = POLLIN;  // EINTR: look at every socket
      }
    }
    if (!measure_started && on_measure_start) on_measure_start();
    // The last outstanding replies: an order without a final outcome is a failure under ordergate.
    result_.unanswered_submissions = outstanding_;
    result_.window_ns = std::max<int64_t>(0, last_measured_final_ns_ - measure_start_ns_);
    cpu_.Fill(&result_);
  }

 private:
  static constexpr int kBufBytes = 65536;

  const Options& opt_;
  void* ctx_;
  Kind kind_;
  std::string endpoint_;
  RunResult result_;
  std::vector<void*> socks_;
  std::vector<pollfd> fds_;
  std::vector<Slot> slots_;
  std::vector<int> inflight_;
  std::vector<char> dirty_;  // sent on since the last drain
  RetryQueue retries_;
  int64_t limit_ = 0;
  uint64_t outstanding_ = 0;
  int64_t start_ns_ = 0, measure_start_ns_ = 0, issue_end_ns_ = 0;
  int64_t last_measured_final_ns_ = 0;
  int64_t last_reply_ns_ = 0;
  int64_t last_progress_ns_ = 0;
  uint64_t done_since_progress_ = 0;
  uint64_t filled_since_progress_ = 0;
  gateway::HistogramSnapshot progress_hist_;  // the progress line's last second
  ProcessCpuWindow cpu_;                      // CPU time per order of the processes of the run
  std::mt19937_64 rng_{opt_.seed};
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  std::string head_, tail_, tail_conflict_;
  ordergate::Request bridge_req_, bridge_req_conflict_;
  std::string canonical_, canonical_conflict_, signature_;
  std::string body_, uuid_;
  std::vector<char> buf_ = std::vector<char>(kBufBytes);
};

}  // namespace

void RecordFate(Status st, std::string_view code, OrderFates* f) {
  if (st == Status::kFilled) {
    ++f->filled;
    return;
  }
  if (st == Status::kUnknown) {
    ++f->unknown;
    return;
  }
  if (st == Status::kRejected) ++f->rejected;
  if (st == Status::kError) ++f->errored;
  if (!code.empty()) {
    f->refused.Add(code);
  } else {
    f->refused.Add(absl::StrCat(kStatusNames[static_cast<size_t>(st)], " (no code)"));
  }
}

RunResult RunLoad(const Options& opt, void* ctx, LoadKind kind, const std::string& endpoint,
                  const std::string& prefix, int64_t orders,
                  std::function<void()> on_measure_start) {
  LoadRun run(opt, ctx, kind, endpoint, prefix);
  run.on_measure_start = std::move(on_measure_start);
  return run.Run(orders);
}

void CountExecutions(const std::string& journal, const std::vector<RunResult*>& runs,
                     std::string* err) {
  std::ifstream in(journal);
  if (!in) {
    *err = "cannot read journal " + journal;
    return;
  }
  for (RunResult* r : runs) r->executions.assign(static_cast<size_t>(r->issued), 0);
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view uuid = StringMember(line, "\"uuid\":\"");
    for (RunResult* r : runs) {
      if (uuid.size() <= r->prefix.size() || uuid.substr(0, r->prefix.size()) != r->prefix)
        continue;
      uint32_t index = 0;
      if (std::from_chars(uuid.data() + r->prefix.size(), uuid.data() + uuid.size(), index).ec ==
              std::errc() &&
          index < r->executions.size()) {
        ++r->executions[index];
      }
    }
  }
  for (RunResult* r : runs) {
    r->executed_uuids = 0;
    r->duplicate_executions = 0;
    for (uint16_t n : r->executions) {
      if (n > 0) ++r->executed_uuids;
      if (n > 1) r->duplicate_executions += n - 1;
    }
  }
}

}  // namespace ordergate::bench
