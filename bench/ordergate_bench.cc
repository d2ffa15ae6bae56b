// ordergate-bench: drives ordergate end to end and reports what a strategy sees, beside the same
// load through a plain ZeroMQ forwarder (the physical limit of one more hop).
//
// Workload: N DEALER clients send OPEN orders with fresh uuids, either
//   - open-loop (--rate R): orders/s across all clients, uniform or Poisson spacing; each order has
//     an INTENDED send time and its latency is measured from it, so a stall of the gateway (or of
//     the harness) shows in the figures instead of silently slowing the sender (no coordinated
//     omission); or
//   - closed-loop (--rate 0): each client keeps --window orders outstanding and sends the next one
//     the moment one completes: the sustained throughput.
// A share of orders is sent again with the same uuid (--retry-ratio: half while the original is in
// flight, half after its reply) and a share with the same uuid and another volume
// (--conflict-ratio). A PENDING reply is followed by the same order again (what docs/protocol.md
// tells a strategy). Latency of an order: intended send -> its first final reply
// (FILLED/REJECTED/UNKNOWN/error). Afterwards the simulator's journal is read: a uuid executed
// twice under ordergate fails the run.
//
//   ordergate-bench --endpoint tcp://127.0.0.1:5555 --rate 10000 --duration-s 10 --warmup-s 2
//       --retry-ratio 0.3 --journal /tmp/sim.jsonl --metrics 127.0.0.1:9464
//       --baseline --bridge tcp://127.0.0.1:5556 --json out.json --plot out.png
//
// Lean by design (it shares the CPUs with what it measures): one thread drives every client socket,
// waiting in ppoll(2) on the sockets' ZMQ_FDs with a nanosecond timeout to the next intended send
// (never spinning), request bodies are preformatted, replies are scanned in place, and per-order
// state is a preallocated vector indexed by the number in the uuid.
//
// Exit codes: 0 ok; 1 an invariant broke under ordergate (a duplicate execution, an order without a
// final outcome) or the run could not be carried out; 2 usage.
#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "gateway/http_endpoint.h"
#include "gateway/latency_histogram.h"
#include "transport/codec.h"
#include "transport/order.h"
#include "transport/signing.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kNsPerMs = 1000000;
constexpr int64_t kNsPerS = 1000000000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
int64_t UnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ----------------------------------------------------------------------------------------------
// Options

struct Options {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string bridge;
  std::string journal;
  std::string json_path;
  std::string plot_path;
  std::string metrics;
  std::string prefix;
  int64_t orders = 0;
  double duration_s = 0;
  double warmup_s = 0;
  double rate = 0;
  bool poisson = false;
  int clients = 4;
  int window = 16;
  double retry_ratio = 0;
  double conflict_ratio = 0;
  int64_t retry_delay_ms = 0;
  int64_t timeout_ms = 2000;
  int64_t drain_ms = 10000;
  bool baseline = false;
  int rounds = 1;
  bool embedded = false;
  std::string data_dir;
  std::string durability = "sync";
  std::string symbol = "EURUSD";
  double volume = 0.01;
  bool progress = true;
  std::string fsync_probe_dir;
  uint64_t seed = 1;
};

constexpr char kUsage[] = R"(usage: ordergate-bench [flags]
Drives ordergate end to end (and, with --baseline, a plain ZeroMQ forwarder to the same simulator)
and reports orders, duplicate executions at the bridge, success rate, throughput, latency
percentiles from each order's intended send time, refusals by code and the gateway's per-stage
histograms. Flags (defaults in brackets):
 target
  --endpoint E          the running ordergated's front end [tcp://127.0.0.1:5555]
  --embedded            start the gateway in this process instead (front end on tcp://127.0.0.1:*,
                        per-stage histograms from its in-process HTTP endpoint) [off]
  --data-dir DIR        --embedded: the store's directory [a new temp dir, removed at exit]
  --durability D        --embedded: sync|async [sync]
  --bridge E            the simulator's endpoint; needed by --baseline and --embedded [none]
  --metrics HOST:PORT   ordergated's HTTP endpoint, for GET /latency before and after the measured
                        window [none: no per-stage figures]
  --journal FILE        the simulator's execution journal, for duplicate executions [none: unchecked]
 load
  --rate R              open-loop, orders/s across all clients; 0 = closed-loop at maximum rate [0]
  --arrival A           open-loop spacing: uniform|poisson [uniform]
  --window W            closed-loop: orders outstanding per client [16]
  --clients N           DEALER connections, one thread drives them all [4]
  --orders N            orders per run (warm-up included) [1000 when --duration-s is not given]
  --duration-s S        measured time per run, after the warm-up [0: use --orders]
  --warmup-s W          orders intended during the first W s are left out of every figure [0]
  --retry-ratio X       share of orders sent again with the same uuid, half while in flight and
                        half after the reply [0]
  --retry-delay-ms MS   delay of the after-reply retry [0]
  --conflict-ratio X    share of orders sent again with the same uuid and twice the volume [0]
  --timeout-ms MS       timeout_ms carried by each request (the gateway answers PENDING before it;
                        the harness then sends the same order again) [2000]
  --drain-ms MS         after the last send, how long to wait for outstanding replies [10000]
  --symbol S            [EURUSD]
  --volume V            [0.01]
  --seed N              retry/conflict/Poisson draws [1]
 comparison and output
  --baseline            also run the same load through <bin dir>/ordergate-forwarder to --bridge
  --rounds N            with --baseline: alternate baseline, ordergate N times (each run gets the
                        warm-up and 1/N of --orders or the full --duration-s) [1]
  --prefix P            uuid prefix [a fresh one per invocation]
  --json FILE           the report as JSON [none]
  --plot FILE.png       percentile plot of both runs (gnuplot); data files next to it [none]
  --no-progress         no progress line on stderr (one per second otherwise)
  --fsync-probe DIR     before the runs, time 500 fdatasync()s of 4 KiB appends to a file in DIR
                        (put it on the gateway's data disk: the sync-durability yardstick) [none]
  --help
Exit codes: 0 ok; 1 duplicate execution or an order without a final outcome under ordergate (or the
run could not be carried out); 2 usage.
)";

bool ParseArgs(int argc, char** argv, Options* o, std::string* err) {
  bool has_orders = false;
  std::string arrival = "uniform";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--baseline") {
      o->baseline = true;
      continue;
    }
    if (a == "--embedded") {
      o->embedded = true;
      continue;
    }
    if (a == "--no-progress") {
      o->progress = false;
      continue;
    }
    if (i + 1 >= argc) {
      *err = a + " needs a value (or is unknown)";
      return false;
    }
    const std::string v = argv[++i];
    bool ok = true;
    if (a == "--endpoint") {
      o->endpoint = v;
    } else if (a == "--bridge") {
      o->bridge = v;
    } else if (a == "--journal") {
      o->journal = v;
    } else if (a == "--fsync-probe") {
      o->fsync_probe_dir = v;
    } else if (a == "--json") {
      o->json_path = v;
    } else if (a == "--plot") {
      o->plot_path = v;
    } else if (a == "--metrics") {
      o->metrics = v;
    } else if (a == "--prefix") {
      o->prefix = v;
    } else if (a == "--data-dir") {
      o->data_dir = v;
    } else if (a == "--durability") {
      o->durability = v;
      ok = v == "sync" || v == "async";
    } else if (a == "--symbol") {
      o->symbol = v;
    } else if (a == "--arrival") {
      arrival = v;
      ok = v == "uniform" || v == "poisson";
    } else if (a == "--orders") {
      ok = absl::SimpleAtoi(v, &o->orders) && o->orders >= 1;
      has_orders = true;
    } else if (a == "--duration-s") {
      ok = absl::SimpleAtod(v, &o->duration_s) && o->duration_s > 0;
    } else if (a == "--warmup-s") {
      ok = absl::SimpleAtod(v, &o->warmup_s) && o->warmup_s >= 0;
    } else if (a == "--rate") {
      ok = absl::SimpleAtod(v, &o->rate) && o->rate >= 0;
    } else if (a == "--clients") {
      ok = absl::SimpleAtoi(v, &o->clients) && o->clients >= 1 && o->clients <= 1024;
    } else if (a == "--window") {
      ok = absl::SimpleAtoi(v, &o->window) && o->window >= 1;
    } else if (a == "--rounds") {
      ok = absl::SimpleAtoi(v, &o->rounds) && o->rounds >= 1;
    } else if (a == "--retry-ratio") {
      ok = absl::SimpleAtod(v, &o->retry_ratio) && o->retry_ratio >= 0 && o->retry_ratio <= 1;
    } else if (a == "--conflict-ratio") {
      ok = absl::SimpleAtod(v, &o->conflict_ratio) && o->conflict_ratio >= 0 &&
           o->conflict_ratio <= 1;
    } else if (a == "--retry-delay-ms") {
      ok = absl::SimpleAtoi(v, &o->retry_delay_ms) && o->retry_delay_ms >= 0;
    } else if (a == "--timeout-ms") {
      ok = absl::SimpleAtoi(v, &o->timeout_ms) && o->timeout_ms >= 1 && o->timeout_ms <= 600000;
    } else if (a == "--drain-ms") {
      ok = absl::SimpleAtoi(v, &o->drain_ms) && o->drain_ms >= 0;
    } else if (a == "--volume") {
      ok = absl::SimpleAtod(v, &o->volume) && o->volume > 0;
    } else if (a == "--seed") {
      ok = absl::SimpleAtoi(v, &o->seed);
    } else {
      *err = "unknown flag " + a;
      return false;
    }
    if (!ok) {
      *err = absl::StrCat(a, ": bad value '", v, "'");
      return false;
    }
  }
  o->poisson = arrival == "poisson";
  if (has_orders && o->duration_s > 0) {
    *err = "give --orders or --duration-s, not both";
    return false;
  }
  if (!has_orders && o->duration_s == 0) o->orders = 1000;
  if (o->baseline && o->bridge.empty()) {
    *err = "--baseline needs --bridge (the simulator the forwarder connects to)";
    return false;
  }
  if (o->embedded && o->bridge.empty()) {
    *err = "--embedded needs --bridge";
    return false;
  }
  if (o->rounds > 1 && !o->baseline) {
    *err = "--rounds needs --baseline";
    return false;
  }
  if (o->rate == 0 && o->poisson) {
    *err = "--arrival poisson needs --rate";
    return false;
  }
  return true;
}

// ----------------------------------------------------------------------------------------------
// Replies, scanned in place. Both ordergate and the simulator emit compact JSON; the keys looked
// for appear once at the top level of every order reply.

std::string_view StringMember(std::string_view body, std::string_view key_with_quotes_colon) {
  const size_t at = body.find(key_with_quotes_colon);
  if (at == std::string_view::npos) return {};
  const size_t start = at + key_with_quotes_colon.size();
  const size_t end = body.find('"', start);
  if (end == std::string_view::npos) return {};
  return body.substr(start, end - start);
}

enum class Status : uint8_t { kFilled, kRejected, kPending, kUnknown, kError, kOk, kOther };
constexpr std::array<const char*, 7> kStatusNames = {"FILLED", "REJECTED", "PENDING", "UNKNOWN",
                                                     "error",  "ok",       "other"};

Status ClassifyStatus(std::string_view s) {
  if (s == "FILLED") return Status::kFilled;
  if (s == "REJECTED") return Status::kRejected;
  if (s == "PENDING") return Status::kPending;
  if (s == "UNKNOWN") return Status::kUnknown;
  if (s == "error") return Status::kError;
  if (s == "ok") return Status::kOk;
  return Status::kOther;
}

// Error codes tallied in a fixed array (the contract's codes and the bridge's), others in a short
// list; no map per reply.
class CodeTally {
 public:
  CodeTally() {
    for (int c = 1; c <= static_cast<int>(ordergate::ErrorCode::kBridgeNoTicket); ++c) {
      const absl::string_view n = ordergate::ErrorCodeName(static_cast<ordergate::ErrorCode>(c));
      names_.emplace_back(n.data(), n.size());
    }
    for (const char* extra : {"MT5_ORDER_FAILED", "MT5_CLOSE_FAILED", "MT5_EXCEPTION",
                              "MT5_NOT_CONNECTED", "SERVER_ERROR", "BRIDGE_NOT_EXECUTED"}) {
      names_.emplace_back(extra);
    }
    counts_.assign(names_.size(), 0);
  }
  void Add(std::string_view code, uint64_t n = 1) {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == code) {
        counts_[i] += n;
        return;
      }
    }
    names_.emplace_back(code);  // a code nobody expected: rare, so the list stays short
    counts_.push_back(n);
  }
  void Merge(const CodeTally& o) {
    for (size_t i = 0; i < o.names_.size(); ++i) {
      if (o.counts_[i] > 0) Add(o.names_[i], o.counts_[i]);
    }
  }
  std::vector<std::pair<std::string, uint64_t>> NonZero() const {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (counts_[i] > 0) out.emplace_back(names_[i], counts_[i]);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  uint64_t Get(std::string_view code) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == code) return counts_[i];
    }
    return 0;
  }

 private:
  std::vector<std::string> names_;
  std::vector<uint64_t> counts_;
};

// ----------------------------------------------------------------------------------------------
// Per-stage histograms from GET /latency (see the gateway's HTTP endpoint).

// The gateway's own parser and window arithmetic (gateway/latency_histogram.h): one implementation
// for the endpoint, this report and any other reader.
using ordergate::gateway::HistogramSnapshot;
using ordergate::gateway::StageLatencySnapshot;

struct Stage {
  std::string name;
  HistogramSnapshot h;
};
struct LatencySnapshot {
  int http_status = 0;  // 200 when served; 0 not asked; -1 no answer
  std::string error;
  StageLatencySnapshot stages;
};

std::array<const HistogramSnapshot*, 5> StagesOf(const StageLatencySnapshot& s) {
  return {&s.decode, &s.reserve, &s.bridge, &s.total, &s.store_apply};  // kLatencyStageNames order
}

LatencySnapshot FetchLatency(const std::string& host_port) {
  LatencySnapshot s;
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port)) {
    s.http_status = -1;
    s.error = "bad --metrics address " + host_port;
    return s;
  }
  httplib::Client cli(host_port.substr(0, colon), port);
  cli.set_connection_timeout(2, 0);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get("/latency");
  if (!res) {
    s.http_status = -1;
    s.error = "no answer from http://" + host_port + "/latency";
    return s;
  }
  s.http_status = res->status;
  if (res->status != 200) {
    s.error = absl::StrCat("GET http://", host_port, "/latency answered ", res->status);
    return s;
  }
  absl::StatusOr<StageLatencySnapshot> parsed = ordergate::gateway::ParseLatencyJson(res->body);
  if (!parsed.ok()) {
    s.http_status = -1;
    s.error = absl::StrCat("GET /latency: ", parsed.status().message());
    return s;
  }
  s.stages = std::move(*parsed);
  return s;
}

// after - before (cumulative counters, so the difference is the window), added into *acc: several
// gateway rounds sum up.
void AccumulateDiff(const LatencySnapshot& before, const LatencySnapshot& after,
                    std::vector<Stage>* acc) {
  const StageLatencySnapshot window = after.stages.Minus(before.stages);
  const auto stages = StagesOf(window);
  for (size_t i = 0; i < stages.size(); ++i) {
    if (acc->size() <= i) {
      acc->push_back(Stage{std::string(ordergate::gateway::kLatencyStageNames[i]), {}});
    }
    (*acc)[i].h.Merge(*stages[i]);
  }
}

struct StageFigures {
  int64_t count = 0;
  double mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// Quantiles are the histogram's (never below the true value, at most 0.78% above); a window's max
// is its highest bucket's bound.
StageFigures Summarize(const Stage& s) {
  StageFigures f;
  f.count = static_cast<int64_t>(s.h.count);
  if (f.count == 0) return f;
  f.mean_us = s.h.MeanNs() / 1000.0;
  auto q = [&](double p) { return static_cast<double>(s.h.ValueAtQuantile(p)) / 1000.0; };
  f.p50_us = q(0.5);
  f.p90_us = q(0.9);
  f.p99_us = q(0.99);
  f.p999_us = q(0.999);
  f.max_us = static_cast<double>(s.h.max_ns) / 1000.0;
  return f;
}

// ----------------------------------------------------------------------------------------------
// One run: one target (ordergate or the forwarder), one uuid prefix.

struct RunResult {
  std::string target;  // "ordergate" | "baseline"
  std::string prefix;
  int64_t issued = 0;    // orders (distinct uuids) sent
  int64_t measured = 0;  // of them, intended after the warm-up
  int64_t finished = 0;  // orders with a final outcome (all)
  uint64_t sent = 0, sent_retries = 0, sent_conflicts = 0, sent_followups = 0;
  uint64_t replies = 0, duplicate_replies = 0, stray_replies = 0, send_failures = 0;
  std::array<uint64_t, 7> by_status{};  // over every reply
  // Outcomes of measured orders (first final reply).
  uint64_t out_filled = 0, out_rejected = 0, out_unknown = 0, out_error = 0;
  uint64_t unanswered_submissions = 0;
  HistogramSnapshot send_lag;  // open-loop: actual send - intended send, measured orders
  CodeTally codes;
  std::vector<int64_t> latencies_ns;  // measured orders, sorted at the end
  int64_t window_ns = 0;              // warm-up end -> last final outcome of a measured order
  int64_t executed_uuids = -1;        // from the journal; -1 unchecked
  int64_t duplicate_executions = -1;
  std::vector<uint16_t> executions;  // per order index, from the journal
  LatencySnapshot stages_before, stages_after;
  std::string error;
};

void Merge(const RunResult& r, RunResult* into) {
  into->issued += r.issued;
  into->measured += r.measured;
  into->finished += r.finished;
  into->sent += r.sent;
  into->sent_retries += r.sent_retries;
  into->sent_conflicts += r.sent_conflicts;
  into->sent_followups += r.sent_followups;
  into->replies += r.replies;
  into->duplicate_replies += r.duplicate_replies;
  into->stray_replies += r.stray_replies;
  into->send_failures += r.send_failures;
  for (size_t i = 0; i < r.by_status.size(); ++i) into->by_status[i] += r.by_status[i];
  into->out_filled += r.out_filled;
  into->out_rejected += r.out_rejected;
  into->out_unknown += r.out_unknown;
  into->out_error += r.out_error;
  into->unanswered_submissions += r.unanswered_submissions;
  into->send_lag.Merge(r.send_lag);
  into->codes.Merge(r.codes);
  into->latencies_ns.insert(into->latencies_ns.end(), r.latencies_ns.begin(), r.latencies_ns.end());
  into->window_ns += r.window_ns;
  if (r.executed_uuids >= 0) {
    into->executed_uuids = std::max<int64_t>(into->executed_uuids, 0) + r.executed_uuids;
    into->duplicate_executions =
        std::max<int64_t>(into->duplicate_executions, 0) + r.duplicate_executions;
  }
  if (!r.error.empty()) into->error += r.error + "; ";
}

class LoadRun {
 public:
  enum class Kind { kGateway, kBaseline };

  LoadRun(const Options& opt, void* ctx, Kind kind, std::string endpoint, std::string prefix)
      : opt_(opt), ctx_(ctx), kind_(kind), endpoint_(std::move(endpoint)) {
    result_.target = kind == Kind::kGateway ? "ordergate" : "baseline";
    result_.prefix = std::move(prefix);
  }

  RunResult Run(int64_t orders) {
    if (!Setup(orders)) return std::move(result_);
    Loop();
    Teardown();
    std::sort(result_.latencies_ns.begin(), result_.latencies_ns.end());
    return std::move(result_);
  }

  // Set before Run(): called once at the end of the warm-up (or at the start without one).
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
  struct Due {
    int64_t due_ns;
    uint32_t index;
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
    result_.latencies_ns.reserve(static_cast<size_t>(reserve));
    due_.reserve(static_cast<size_t>(reserve) / 2 + 16);
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
    return true;
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
    if (s.measured) ++result_.measured;
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
    if (!code.empty()) result_.codes.Add(code);
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
    if (s.measured) {
      result_.latencies_ns.push_back(now - s.intended_ns);
      last_measured_final_ns_ = now;
      switch (st) {
        case Status::kFilled:
          ++result_.out_filled;
          break;
        case Status::kRejected:
          ++result_.out_rejected;
          break;
        case Status::kUnknown:
          ++result_.out_unknown;
          break;
        default:
          ++result_.out_error;
          break;
      }
    }
    ++done_since_progress_;
    if (s.retry_after) {
      s.retry_after = false;
      due_.push_back(Due{now + opt_.retry_delay_ms * kNsPerMs, index});
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
                 "[%s] %6.1f s  sent %lld orders  completed %lld  rate %.0f/s  p99 (last 1 s) "
                 "%.0f us%s\n",
                 result_.target.c_str(), t, static_cast<long long>(slots_.size()),
                 static_cast<long long>(result_.finished),
                 static_cast<double>(done_since_progress_) / dt,
                 static_cast<double>(progress_hist_.ValueAtQuantile(0.99)) / 1000.0,
                 now < measure_start_ns_ ? "  (warm-up)" : "");
    done_since_progress_ = 0;
    progress_hist_ = HistogramSnapshot{};
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
      while (due_head_ < due_.size() && due_[due_head_].due_ns <= now) {
        Submit(due_[due_head_].index, false);
        ++result_.sent_retries;
        ++due_head_;
      }
      if (due_head_ == due_.size()) {
        due_.clear();
        due_head_ = 0;
      }
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
        if (drain_deadline == INT64_MAX) drain_deadline = now + opt_.drain_ms * kNsPerMs;
        if (outstanding_ == 0 && due_head_ == due_.size() &&
            result_.finished == static_cast<int64_t>(slots_.size())) {
          break;
        }
        if (now >= drain_deadline) break;
      }
      int64_t wake = next_progress;
      if (open && issuing) wake = std::min(wake, static_cast<int64_t>(next_intended));
      if (!open && issuing && issue_end_ns_ != INT64_MAX) wake = std::min(wake, issue_end_ns_);
      if (due_head_ < due_.size()) wake = std::min(wake, due_[due_head_].due_ns);
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
  }

 public:
  // Executions per order index of this run, from the simulator's journal.
  static void CountExecutions(const std::string& journal, const std::vector<RunResult*>& runs,
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
  std::vector<Due> due_;
  size_t due_head_ = 0;
  int64_t limit_ = 0;
  uint64_t outstanding_ = 0;
  int64_t start_ns_ = 0, measure_start_ns_ = 0, issue_end_ns_ = 0;
  int64_t last_measured_final_ns_ = 0;
  int64_t last_reply_ns_ = 0;
  int64_t last_progress_ns_ = 0;
  uint64_t done_since_progress_ = 0;
  HistogramSnapshot progress_hist_;  // the progress line's last second
  std::mt19937_64 rng_{opt_.seed};
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  std::string head_, tail_, tail_conflict_;
  ordergate::Request bridge_req_, bridge_req_conflict_;
  std::string canonical_, canonical_conflict_, signature_;
  std::string body_, uuid_;
  std::vector<char> buf_ = std::vector<char>(kBufBytes);
};

// ----------------------------------------------------------------------------------------------
// The forwarder child and the embedded gateway.

std::string BinDir() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

struct Child {
  pid_t pid = -1;
  std::string endpoint;
  std::string error;
};

// Starts <bin dir>/ordergate-forwarder and reads its "listening on" line.
Child StartForwarder(const std::string& bridge) {
  Child ch;
  const std::string exe = BinDir() + "/ordergate-forwarder";
  int out[2];
  if (pipe(out) != 0) {
    ch.error = "pipe failed";
    return ch;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    ch.error = "fork failed";
    return ch;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the harness
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(exe.c_str(), exe.c_str(), "--bridge", bridge.c_str(), "--listen", "tcp://127.0.0.1:*",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  ch.pid = pid;
  std::string text;
  char c = 0;
  pollfd p{out[0], POLLIN, 0};
  const int64_t deadline = NowNs() + 10 * kNsPerS;
  while (NowNs() < deadline) {
    if (poll(&p, 1, 100) <= 0) continue;
    if (read(out[0], &c, 1) != 1) break;
    if (c == '\n') break;
    text.push_back(c);
  }
  close(out[0]);
  const std::string marker = "listening on ";
  const size_t at = text.find(marker);
  if (at == std::string::npos) {
    ch.error = "ordergate-forwarder (" + exe + ") did not report its endpoint: '" + text + "'";
    return ch;
  }
  ch.endpoint = text.substr(at + marker.size());
  return ch;
}

void StopChild(Child* ch) {
  if (ch->pid <= 0) return;
  kill(ch->pid, SIGTERM);
  int status = 0;
  waitpid(ch->pid, &status, 0);
  ch->pid = -1;
}

struct Embedded {
  std::unique_ptr<ordergate::gateway::Gateway> gw;
  std::unique_ptr<ordergate::gateway::HttpEndpoint> http;
  std::thread loop;
  std::string temp_dir;
};

// ----------------------------------------------------------------------------------------------
// Reporting

struct Figures {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0, throughput = 0;
  double success = 0;
};

double PercentileUs(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)]) /
         1000.0;
}

Figures FiguresOf(const RunResult& r) {
  Figures f;
  const auto& l = r.latencies_ns;
  f.p50 = PercentileUs(l, 0.5);
  f.p90 = PercentileUs(l, 0.9);
  f.p99 = PercentileUs(l, 0.99);
  f.p999 = PercentileUs(l, 0.999);
  f.max = l.empty() ? 0 : static_cast<double>(l.back()) / 1000.0;
  double sum = 0;
  for (int64_t v : l) sum += static_cast<double>(v);
  f.mean = l.empty() ? 0 : sum / static_cast<double>(l.size()) / 1000.0;
  f.throughput =
      r.window_ns > 0 ? static_cast<double>(l.size()) * 1e9 / static_cast<double>(r.window_ns) : 0;
  f.success =
      r.measured > 0 ? static_cast<double>(r.out_filled) / static_cast<double>(r.measured) : 0;
  return f;
}

std::string Num(double v, int digits = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  ordergate::AppendJsonString(s, &out);
  return out;
}

std::string RunJson(const RunResult& r, const Figures& f, const std::vector<Stage>* stages,
                    const LatencySnapshot* stage_probe) {
  std::ostringstream js;
  js << "{\"prefix\":" << JsonEscape(r.prefix) << ",\"orders\":" << r.issued
     << ",\"measured_orders\":" << r.measured << ",\"finished_orders\":" << r.finished
     << ",\"orders_without_final_outcome\":" << (r.issued - r.finished)
     << ",\"unanswered_submissions\":" << r.unanswered_submissions << ",\"sent\":" << r.sent
     << ",\"sent_retries\":" << r.sent_retries << ",\"sent_conflicts\":" << r.sent_conflicts
     << ",\"sent_pending_followups\":" << r.sent_followups << ",\"replies\":" << r.replies
     << ",\"duplicate_replies\":" << r.duplicate_replies << ",\"stray_replies\":" << r.stray_replies
     << ",\"send_failures\":" << r.send_failures << ",\"replies_by_status\":{";
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    js << (i ? "," : "") << "\"" << kStatusNames[i] << "\":" << r.by_status[i];
  }
  js << "},\"outcomes\":{\"FILLED\":" << r.out_filled << ",\"REJECTED\":" << r.out_rejected
     << ",\"UNKNOWN\":" << r.out_unknown << ",\"error\":" << r.out_error << "}"
     << ",\"refusals_by_code\":{";
  bool first = true;
  for (const auto& [code, n] : r.codes.NonZero()) {
    js << (first ? "" : ",") << JsonEscape(code) << ":" << n;
    first = false;
  }
  js << "},\"executed_uuids\":" << r.executed_uuids
     << ",\"duplicate_executions\":" << r.duplicate_executions
     << ",\"success_rate\":" << Num(f.success, 6) << ",\"throughput_per_s\":" << Num(f.throughput)
     << ",\"window_s\":" << Num(static_cast<double>(r.window_ns) / 1e9, 3)
     << ",\"latency_us\":{\"p50\":" << Num(f.p50) << ",\"p90\":" << Num(f.p90)
     << ",\"p99\":" << Num(f.p99) << ",\"p99.9\":" << Num(f.p999) << ",\"max\":" << Num(f.max)
     << ",\"mean\":" << Num(f.mean) << ",\"count\":" << r.latencies_ns.size() << "}";
  js << ",\"harness_send_lag_us\":{\"p50\":"
     << Num(static_cast<double>(r.send_lag.ValueAtQuantile(0.5)) / 1000.0)
     << ",\"p99\":" << Num(static_cast<double>(r.send_lag.ValueAtQuantile(0.99)) / 1000.0) << "}";
  if (stage_probe != nullptr) {
    js << ",\"stages_http_status\":" << stage_probe->http_status;
    if (stages != nullptr && stage_probe->http_status == 200) {
      js << ",\"stages\":{";
      bool first_stage = true;
      for (const Stage& s : *stages) {
        const StageFigures sf = Summarize(s);
        js << (first_stage ? "" : ",") << JsonEscape(s.name) << ":{\"count\":" << sf.count
           << ",\"mean_us\":" << Num(sf.mean_us, 2) << ",\"p50_us\":" << Num(sf.p50_us, 2)
           << ",\"p90_us\":" << Num(sf.p90_us, 2) << ",\"p99_us\":" << Num(sf.p99_us, 2)
           << ",\"p99.9_us\":" << Num(sf.p999_us, 2) << ",\"max_us\":" << Num(sf.max_us, 2) << "}";
        first_stage = false;
      }
      js << "}";
    } else {
      js << ",\"stages\":null,\"stages_error\":" << JsonEscape(stage_probe->error);
    }
  }
  if (!r.error.empty()) js << ",\"error\":" << JsonEscape(r.error);
  js << "}";
  return js.str();
}

std::string Ratio(double a, double b) { return b > 0 ? Num(a / b, 2) : "-"; }
std::string RatioJson(double a, double b) { return b > 0 ? Num(a / b, 3) : "null"; }

// Percentile plot: x = 1/(1-q) on a log axis labelled by percentile, y = latency (log).
bool WritePlot(const std::string& png, const std::vector<const RunResult*>& runs,
               std::string* err) {
  std::string stem = png;
  if (stem.size() > 4 && stem.substr(stem.size() - 4) == ".png") stem.resize(stem.size() - 4);
  std::string plot_cmds;
  for (const RunResult* r : runs) {
    const auto& l = r->latencies_ns;
    if (l.empty()) continue;
    const std::string dat = stem + "-" + r->target + ".dat";
    std::ofstream out(dat);
    out << "# percentile_x=1/(1-q)  q  latency_us   (" << r->target << ", " << l.size()
        << " orders)\n";
    const double n = static_cast<double>(l.size());
    for (double e = 0; e <= std::log10(n) + 1e-9; e += 0.02) {
      const double x = std::pow(10.0, e);
      const double q = 1.0 - 1.0 / x;
      out << x << " " << q << " " << PercentileUs(l, q) << "\n";
    }
    out << n << " 1 " << static_cast<double>(l.back()) / 1000.0 << "\n";
    if (!out) {
      *err = "cannot write " + dat;
      return false;
    }
    if (!plot_cmds.empty()) plot_cmds += ", ";
    plot_cmds += "'" + dat + "' using 1:3 with lines linewidth 2 title '" + r->target + "'";
  }
  if (plot_cmds.empty()) {
    *err = "no latencies to plot";
    return false;
  }
  const std::string gp = stem + ".gp";
  std::ofstream g(gp);
  g << "set terminal pngcairo size 1000,640 enhanced font 'DejaVu Sans,11'\n"
    << "set output '" << png << "'\n"
    << "set title 'ordergate-bench: end-to-end latency by percentile'\n"
    << "set logscale x\nset logscale y\nset autoscale xfix\n"
    << "set xlabel 'percentile'\nset ylabel 'latency (us), from intended send time'\n"
    << "set xtics ('0' 1, '50' 2, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000, '99.999' "
       "100000)\n"
    << "set grid xtics ytics mytics\nset key top left\n"
    << "plot " << plot_cmds << "\n";
  g.close();
  const std::string cmd = "gnuplot '" + gp + "'";
  if (std::system(cmd.c_str()) != 0) {
    *err = "gnuplot failed: " + cmd;
    return false;
  }
  return true;
}

}  // namespace

// fdatasync of a 4 KiB append, as a write-ahead log pays it, on the disk under `dir`: the unit that
// durability=sync adds to a reservation and to an outcome. Returns {p50_us, p99_us}, or {-1, -1}.
std::pair<double, double> ProbeFsync(const std::string& dir) {
  const std::string path = dir + "/ordergate-bench-fsync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return {-1, -1};
  std::vector<char> block(4096, 'x');
  std::vector<int64_t> ns;
  ns.reserve(500);
  for (int i = 0; i < 500; ++i) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) break;
    const int64_t t0 = NowNs();
    if (::fdatasync(fd) != 0) break;
    ns.push_back(NowNs() - t0);
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (ns.size() < 500) return {-1, -1};
  std::sort(ns.begin(), ns.end());
  return {static_cast<double>(ns[ns.size() / 2]) / 1000.0,
          static_cast<double>(ns[ns.size() * 99 / 100]) / 1000.0};
}

int main(int argc, char** argv) {
  Options opt;
  std::string err;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  if (!ParseArgs(argc, argv, &opt, &err)) {
    std::fprintf(stderr, "ordergate-bench: %s\n%s", err.c_str(), kUsage);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL);  // ppoll wakes at the intended send time, not 50 us later
  if (opt.prefix.empty()) {
    opt.prefix = absl::StrCat("b", UnixUs() % 10000000000LL, "-");
  }
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::pair<double, double> fsync_us{-1, -1};
  if (!opt.fsync_probe_dir.empty()) {
    fsync_us = ProbeFsync(opt.fsync_probe_dir);
    if (fsync_us.first < 0) {
      std::fprintf(stderr, "ordergate-bench: --fsync-probe %s: cannot write and sync there\n",
                   opt.fsync_probe_dir.c_str());
      return 2;
    }
  }

  // Embedded gateway, when asked for.
  Embedded emb;
  std::string gateway_endpoint = opt.endpoint;
  std::string metrics = opt.metrics;
  if (opt.embedded) {
    spdlog::set_level(spdlog::level::warn);  // one info line per order would measure the logger
    ordergate::gateway::GatewayConfig cfg;
    cfg.listen = "tcp://127.0.0.1:*";
    cfg.bridge = opt.bridge;
    if (opt.data_dir.empty()) {
      char tmpl[] = "/tmp/ordergate-bench-XXXXXX";
      if (mkdtemp(tmpl) == nullptr) {
        std::fprintf(stderr, "ordergate-bench: mkdtemp failed\n");
        return 1;
      }
      emb.temp_dir = tmpl;
      cfg.data_dir = emb.temp_dir + "/data";
    } else {
      cfg.data_dir = opt.data_dir;
    }
    auto d = ordergate::gateway::ParseDurability(opt.durability);
    cfg.durability = *d;
    auto gw = ordergate::gateway::Gateway::Start(cfg);
    if (!gw.ok()) {
      std::fprintf(stderr, "ordergate-bench: embedded gateway: %s\n",
                   std::string(gw.status().message()).c_str());
      return 1;
    }
    emb.gw = std::move(*gw);
    auto http = ordergate::gateway::HttpEndpoint::Start("127.0.0.1:0", *emb.gw);
    if (http.ok()) {
      emb.http = std::move(*http);
      metrics = absl::StrCat("127.0.0.1:", emb.http->port());
    }
    emb.loop = std::thread([&emb] { (void)emb.gw->Run(); });
    gateway_endpoint = emb.gw->front_endpoint();
    for (int i = 0; i < 500 && !(emb.gw->ready() && emb.gw->bridge_up()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  Child fwd;
  if (opt.baseline) {
    fwd = StartForwarder(opt.bridge);
    if (!fwd.error.empty()) {
      std::fprintf(stderr, "ordergate-bench: %s\n", fwd.error.c_str());
      StopChild(&fwd);
      return 1;
    }
  }

  void* ctx = zmq_ctx_new();
  zmq_ctx_set(ctx, ZMQ_IO_THREADS, 1);
  const int64_t per_run_orders = opt.orders > 0 ? std::max<int64_t>(1, opt.orders / opt.rounds) : 0;
  const std::string mode = opt.rate > 0
                               ? absl::StrCat("open-loop ", opt.rate, " orders/s (",
                                              opt.poisson ? "Poisson" : "uniform", " spacing)")
                               : absl::StrCat("closed-loop, window ", opt.window, " per client");
  const std::string run_order = !opt.baseline ? "ordergate only"
                                : opt.rounds == 1
                                    ? "baseline, then ordergate"
                                    : absl::StrCat("alternating baseline, ordergate x", opt.rounds);
  std::fprintf(stderr, "ordergate-bench: %s, %d clients; run order: %s\n", mode.c_str(),
               opt.clients, run_order.c_str());

  std::vector<RunResult> gw_runs, base_runs;
  std::vector<Stage> stage_diff;
  LatencySnapshot stage_probe;
  bool stage_asked = false;
  for (int round = 0; round < opt.rounds; ++round) {
    for (int which = opt.baseline ? 0 : 1; which < 2; ++which) {
      const bool gw = which == 1;
      const std::string prefix =
          absl::StrCat(opt.prefix, gw ? (opt.embedded ? "E" : "G") : "F", round, "-");
      LoadRun run(opt, ctx, gw ? LoadRun::Kind::kGateway : LoadRun::Kind::kBaseline,
                  gw ? gateway_endpoint : fwd.endpoint, prefix);
      LatencySnapshot before;
      std::thread snap;
      if (gw && !metrics.empty()) {
        run.on_measure_start = [&] { snap = std::thread([&] { before = FetchLatency(metrics); }); };
      }
      RunResult r = run.Run(per_run_orders);
      if (snap.joinable()) snap.join();
      if (gw && !metrics.empty()) {
        LatencySnapshot after = FetchLatency(metrics);
        stage_asked = true;
        if (before.http_status == 200 && after.http_status == 200) {
          AccumulateDiff(before, after, &stage_diff);
          stage_probe = after;
        } else if (stage_probe.http_status != 200) {
          stage_probe = before.http_status != 200 ? before : after;
        }
      }
      if (!r.error.empty()) {
        std::fprintf(stderr, "ordergate-bench: %s run: %s\n", r.target.c_str(), r.error.c_str());
      }
      (gw ? gw_runs : base_runs).push_back(std::move(r));
    }
  }
  zmq_ctx_term(ctx);
  StopChild(&fwd);

  if (!opt.journal.empty()) {
    std::vector<RunResult*> all;
    all.reserve(gw_runs.size() + base_runs.size());
    for (auto& r : gw_runs) all.push_back(&r);
    for (auto& r : base_runs) all.push_back(&r);
    std::string jerr;
    LoadRun::CountExecutions(opt.journal, all, &jerr);
    if (!jerr.empty()) std::fprintf(stderr, "ordergate-bench: %s\n", jerr.c_str());
  }

  RunResult gwr, base;
  gwr.target = "ordergate";
  base.target = "baseline";
  for (const auto& r : gw_runs) Merge(r, &gwr);
  for (const auto& r : base_runs) Merge(r, &base);
  gwr.prefix = absl::StrCat(opt.prefix, opt.embedded ? "E" : "G");
  base.prefix = absl::StrCat(opt.prefix, "F");
  std::sort(gwr.latencies_ns.begin(), gwr.latencies_ns.end());
  std::sort(base.latencies_ns.begin(), base.latencies_ns.end());
  const Figures g = FiguresOf(gwr);
  const Figures b = FiguresOf(base);

  // Invariants under ordergate.
  std::vector<std::string> problems;
  if (gwr.duplicate_executions > 0) {
    problems.push_back(absl::StrCat("DUPLICATE EXECUTIONS at the bridge under ordergate: ",
                                    gwr.duplicate_executions));
  }
  if (gwr.issued - gwr.finished > 0) {
    problems.push_back(
        absl::StrCat(gwr.issued - gwr.finished, " orders without a final outcome under ordergate"));
  }
  if (!gwr.error.empty()) problems.push_back("ordergate run failed: " + gwr.error);
  if (opt.baseline && !base.error.empty()) problems.push_back("baseline run failed: " + base.error);

  // Table.
  const char* target_name = opt.embedded ? "ordergate (embedded)" : "ordergate";
  std::printf(
      "ordergate-bench: %s, %d clients, retries %.0f%% (half in flight, half after the "
      "reply), conflicts %.0f%%, warm-up %.1f s, %s per run\n",
      mode.c_str(), opt.clients, opt.retry_ratio * 100, opt.conflict_ratio * 100, opt.warmup_s,
      opt.duration_s > 0 ? absl::StrCat(opt.duration_s, " s measured").c_str()
                         : absl::StrCat(per_run_orders, " orders").c_str());
  std::printf("  run order: %s; machine: %u CPUs, load average %.2f %.2f %.2f at start\n",
              run_order.c_str(), std::thread::hardware_concurrency(), load[0], load[1], load[2]);
  if (fsync_us.first >= 0) {
    std::printf(
        "  fdatasync of a 4 KiB append in %s (500 before the runs): p50 %.1f us  p99 %.1f us\n",
        opt.fsync_probe_dir.c_str(), fsync_us.first, fsync_us.second);
  }
  const auto dup_text = [&](const RunResult& r) {
    return r.duplicate_executions < 0 ? std::string("unchecked (no --journal)")
                                      : absl::StrCat(r.duplicate_executions);
  };
  std::printf("  %-34s %16s %16s %10s\n", "", target_name, opt.baseline ? "baseline" : "",
              opt.baseline ? "ratio" : "");
  const auto row = [&](const char* name, const std::string& gv, const std::string& bv,
                       const std::string& ratio) {
    std::printf("  %-34s %16s %16s %10s\n", name, gv.c_str(), opt.baseline ? bv.c_str() : "",
                opt.baseline ? ratio.c_str() : "");
  };
  row("orders (measured / sent uuids)", absl::StrCat(gwr.measured, " / ", gwr.issued),
      absl::StrCat(base.measured, " / ", base.issued), "");
  row("messages sent (incl. retries)", absl::StrCat(gwr.sent), absl::StrCat(base.sent), "");
  row("duplicate executions at bridge", dup_text(gwr), dup_text(base) + " (no guard)", "");
  row("orders without final outcome", absl::StrCat(gwr.issued - gwr.finished),
      absl::StrCat(base.issued - base.finished), "");
  row("success rate (FILLED)", Num(g.success * 100, 2) + "%", Num(b.success * 100, 2) + "%", "");
  row("throughput orders/s", Num(g.throughput, 0), Num(b.throughput, 0),
      Ratio(g.throughput, b.throughput));
  row("latency p50 us", Num(g.p50), Num(b.p50), Ratio(g.p50, b.p50));
  row("latency p90 us", Num(g.p90), Num(b.p90), Ratio(g.p90, b.p90));
  row("latency p99 us", Num(g.p99), Num(b.p99), Ratio(g.p99, b.p99));
  row("latency p99.9 us", Num(g.p999), Num(b.p999), Ratio(g.p999, b.p999));
  row("latency max us", Num(g.max), Num(b.max), Ratio(g.max, b.max));
  row("duplicate:true replies", absl::StrCat(gwr.duplicate_replies),
      absl::StrCat(base.duplicate_replies), "");
  if (opt.rate > 0) {
    const auto lag = [](const RunResult& r) {
      return absl::StrCat(Num(static_cast<double>(r.send_lag.ValueAtQuantile(0.5)) / 1000.0), " / ",
                          Num(static_cast<double>(r.send_lag.ValueAtQuantile(0.99)) / 1000.0));
    };
    row("harness send lag p50 / p99 us", lag(gwr), lag(base), "");
  }
  row("PENDING follow-ups sent", absl::StrCat(gwr.sent_followups),
      absl::StrCat(base.sent_followups), "");
  std::printf("  replies by status (ordergate):");
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (gwr.by_status[i] > 0)
      std::printf(" %s %llu", kStatusNames[i], (unsigned long long)gwr.by_status[i]);
  }
  std::printf("\n  refusals by code (ordergate):");
  const auto gcodes = gwr.codes.NonZero();
  if (gcodes.empty()) std::printf(" none");
  for (const auto& [code, n] : gcodes) std::printf(" %s %llu", code.c_str(), (unsigned long long)n);
  if (opt.baseline) {
    std::printf("\n  refusals by code (baseline):");
    const auto bcodes = base.codes.NonZero();
    if (bcodes.empty()) std::printf(" none");
    for (const auto& [code, n] : bcodes)
      std::printf(" %s %llu", code.c_str(), (unsigned long long)n);
  }
  std::printf("\n");
  if (stage_asked) {
    if (stage_probe.http_status == 200) {
      std::printf(
          "  gateway per-stage latency over the measured window (GET /latency, after - "
          "before), us:\n");
      std::printf("    %-12s %10s %9s %9s %9s %9s %9s %9s\n", "stage", "count", "mean", "p50",
                  "p90", "p99", "p99.9", "max<=");
      for (const Stage& s : stage_diff) {
        const StageFigures sf = Summarize(s);
        std::printf("    %-12s %10lld %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n", s.name.c_str(),
                    static_cast<long long>(sf.count), sf.mean_us, sf.p50_us, sf.p90_us, sf.p99_us,
                    sf.p999_us, sf.max_us);
      }
    } else {
      std::printf("  gateway per-stage latency: not available (%s)\n", stage_probe.error.c_str());
    }
  } else {
    std::printf("  gateway per-stage latency: not asked (give --metrics HOST:PORT)\n");
  }

  if (!opt.plot_path.empty()) {
    std::vector<const RunResult*> runs = {&gwr};
    if (opt.baseline) runs.push_back(&base);
    std::string perr;
    if (WritePlot(opt.plot_path, runs, &perr)) {
      std::printf("  plot: %s\n", opt.plot_path.c_str());
    } else {
      std::fprintf(stderr, "ordergate-bench: plot: %s\n", perr.c_str());
    }
  }
  for (const std::string& p : problems) std::printf("  FAILED: %s\n", p.c_str());

  if (!opt.json_path.empty()) {
    std::ofstream js(opt.json_path);
    js << "{\"config\":{\"mode\":" << JsonEscape(opt.rate > 0 ? "open-loop" : "closed-loop")
       << ",\"rate\":" << opt.rate << ",\"arrival\":\"" << (opt.poisson ? "poisson" : "uniform")
       << "\",\"window\":" << opt.window << ",\"clients\":" << opt.clients
       << ",\"orders\":" << opt.orders << ",\"duration_s\":" << opt.duration_s
       << ",\"warmup_s\":" << opt.warmup_s << ",\"retry_ratio\":" << opt.retry_ratio
       << ",\"conflict_ratio\":" << opt.conflict_ratio << ",\"rounds\":" << opt.rounds
       << ",\"run_order\":" << JsonEscape(run_order)
       << ",\"embedded\":" << (opt.embedded ? "true" : "false")
       << ",\"durability\":" << (opt.embedded ? JsonEscape(opt.durability) : "null")
       << "},\"machine\":{\"cpus\":" << std::thread::hardware_concurrency() << ",\"loadavg\":["
       << load[0] << "," << load[1] << "," << load[2] << "],\"fdatasync_4k_us\":"
       << (fsync_us.first >= 0
               ? absl::StrCat("{\"p50\":", fsync_us.first, ",\"p99\":", fsync_us.second, "}")
               : std::string("null"))
       << "},\"ordergate\":" << RunJson(gwr, g, &stage_diff, stage_asked ? &stage_probe : nullptr);
    if (opt.baseline) {
      js << ",\"baseline\":" << RunJson(base, b, nullptr, nullptr)
         << ",\"ratio\":{\"p50\":" << RatioJson(g.p50, b.p50)
         << ",\"p90\":" << RatioJson(g.p90, b.p90) << ",\"p99\":" << RatioJson(g.p99, b.p99)
         << ",\"p99.9\":" << RatioJson(g.p999, b.p999) << ",\"max\":" << RatioJson(g.max, b.max)
         << ",\"throughput\":" << RatioJson(g.throughput, b.throughput) << "}";
    }
    js << ",\"ok\":" << (problems.empty() ? "true" : "false") << ",\"problems\":[";
    for (size_t i = 0; i < problems.size(); ++i) js << (i ? "," : "") << JsonEscape(problems[i]);
    js << "]}\n";
  }

  if (opt.embedded) {
    emb.gw->Stop();
    if (emb.loop.joinable()) emb.loop.join();
    emb.http.reset();
    emb.gw.reset();
    if (!emb.temp_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(emb.temp_dir, ec);
    }
  }
  return problems.empty() ? 0 : 1;
}
