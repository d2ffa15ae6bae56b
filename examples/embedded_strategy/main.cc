// embedded_strategy: a strategy process with ordergate linked in, on the public API only
// (include/ordergate/gateway.h; built against the installed package as well: tests/consumer).
//
//   embedded_strategy --bridge tcp://127.0.0.1:5556 --data-dir /tmp/strat --orders 20 --prefix s1
//
// Submits the uuids P-0 ... P-(N-1) (OPEN EURUSD BUY 0.01) from two threads at once, each uuid
// twice: thread A submits P-i, then thread B submits P-i again, as a strategy's retry would. The
// retry joins the order while it is in flight or replays its recorded outcome afterwards: either
// way it gets the same outcome with duplicate = true, and the bridge executes the uuid once. One
// JSON line per outcome on stdout, e.g.
//   {"uuid":"s1-0","status":"FILLED","ticket":1001,"duplicate":false}
// with "error_code" added when the outcome has one.
//
// A refusal that means "not now" (BRIDGE_DOWN before the bridge link is up, GATEWAY_BUSY at the
// in-flight cap: nothing recorded, the same uuid may be submitted again; outcome.h) is printed and
// that submission is made again after kRetryDelay, at most kMaxAttempts times. Every other outcome
// is final: FILLED, REJECTED, UNKNOWN (never resubmitted under a new uuid; GatewayOptions::
// on_resolved would report its resolution).
//
// The callbacks run on the gateway's pipeline thread and must not block (gateway.h): they only
// queue the outcome; the main thread prints, counts and resubmits.
//
// Exit status: 0 when every uuid has a final outcome and the gateway closed cleanly; 1 when the
// gateway could not be opened or closed, or a uuid has no final outcome (retries spent, or nothing
// heard for bridge_timeout_ms + kQuiet): stderr says which; 2 for a bad command line.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ordergate/gateway.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kUsage[] =
    "usage: embedded_strategy --bridge ENDPOINT --data-dir DIR --orders N --prefix P\n"
    "                         [--durability sync|async]\n"
    "  --bridge ENDPOINT   the MT5 bridge's REP endpoint, e.g. tcp://127.0.0.1:5556\n"
    "  --data-dir DIR      the gateway's idempotency store (created when missing)\n"
    "  --orders N          uuids to submit, 1..1000000, each twice\n"
    "  --prefix P          uuid prefix: the uuids are P-0 ... P-(N-1); [A-Za-z0-9._:-]\n"
    "  --durability MODE   sync (default: fsynced before sending and answering) or async\n"
    "exit: 0 every uuid has a final outcome; 1 some has none, or the gateway failed; 2 usage\n";

constexpr int kMaxAttempts = 50;
constexpr auto kRetryDelay = std::chrono::milliseconds(100);
// Silence allowed beyond the gateway's own bound (bridge_timeout_ms plus the store's write) before
// the run gives up on the outcomes still missing.
constexpr auto kQuiet = std::chrono::seconds(10);
constexpr int kMaxUuidChars = 64;

struct Flags {
  std::string bridge;
  std::string data_dir;
  int64_t orders = 0;
  std::string prefix;
  ordergate::Durability durability = ordergate::Durability::kSync;
};

bool UuidChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

// Parses argv into `f`. nullopt when good; else the message for stderr. `help` is set for --help.
std::optional<std::string> ParseFlags(int argc, char** argv, Flags* f, bool* help) {
  bool have_orders = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return std::nullopt;
    }
    std::string value;
    const size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (arg == "--bridge" || arg == "--data-dir" || arg == "--orders" || arg == "--prefix" ||
               arg == "--durability") {
      if (i + 1 >= argc) return arg + ": a value is required";
      value = argv[++i];
    } else {
      return arg + ": not a flag of embedded_strategy";
    }
    if (arg == "--bridge") {
      f->bridge = value;
    } else if (arg == "--data-dir") {
      f->data_dir = value;
    } else if (arg == "--orders") {
      int64_t n = 0;
      bool digits = !value.empty() && value.size() <= 7;
      for (char c : value) {
        digits = digits && c >= '0' && c <= '9';
        if (digits) n = n * 10 + (c - '0');
      }
      if (!digits || n < 1 || n > 1000000) {
        return "--orders (\"" + value + "\") must be an integer within 1..1000000";
      }
      f->orders = n;
      have_orders = true;
    } else if (arg == "--prefix") {
      f->prefix = value;
    } else if (arg == "--durability") {
      if (value == "sync") {
        f->durability = ordergate::Durability::kSync;
      } else if (value == "async") {
        f->durability = ordergate::Durability::kAsync;
      } else {
        return "--durability (\"" + value + "\") must be sync or async";
      }
    } else {
      return arg + ": not a flag of embedded_strategy";
    }
  }
  if (f->bridge.empty()) return "--bridge: required (the bridge's endpoint, e.g. tcp://HOST:PORT)";
  if (f->data_dir.empty()) return "--data-dir: required";
  if (!have_orders) return "--orders: required";
  if (f->prefix.empty()) return "--prefix: required";
  for (char c : f->prefix) {
    if (!UuidChar(c)) return "--prefix (\"" + f->prefix + "\") may hold only [A-Za-z0-9._:-]";
  }
  const size_t longest =
      f->prefix.size() + 1 + std::to_string(f->orders - 1).size();  // "P-" + the largest index
  if (longest > kMaxUuidChars) {
    return "--prefix (\"" + f->prefix + "\") is too long: the uuids must fit 64 characters";
  }
  return std::nullopt;
}

// The JSON string of `s` (uuids and error codes are plain; quotes and backslashes escaped anyway).
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

// A refusal after which the same uuid may simply be submitted again (outcome.h: not recorded).
bool NotNow(const ordergate::Outcome& o) {
  return o.status == ordergate::OutcomeStatus::kRejected && !o.recorded &&
         (o.error_code == "BRIDGE_DOWN" || o.error_code == "GATEWAY_BUSY");
}

// The run's state. Submissions are numbered slot = 2 * i + (0 for thread A, 1 for thread B).
class Run {
 public:
  Run(const Flags& flags, Clock::duration quiet)
      : flags_(flags), quiet_(quiet), attempts_(2 * flags.orders, 0), final_(flags.orders, false) {}

  void Attach(ordergate::Gateway* gw) { gw_ = gw; }

  // Thread A: P-0 ... P-(N-1), each once; B follows it.
  void SubmitFirsts() {
    for (int64_t i = 0; i < flags_.orders; ++i) {
      Submit(2 * i);
      std::lock_guard<std::mutex> lock(mu_);
      first_submitted_ = i + 1;
      cv_.notify_all();
    }
  }

  // Thread B: P-i again once thread A has submitted it: a retry while the first is in flight (or
  // after its outcome, when the bridge was quicker than this thread).
  void SubmitRetries() {
    for (int64_t i = 0; i < flags_.orders; ++i) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return first_submitted_ > i; });
      }
      Submit(2 * i + 1);
    }
  }

  // The main thread: prints every outcome, resubmits "not now" refusals, and returns once every
  // submission has its last outcome or nothing was heard for bridge_timeout_ms + kQuiet.
  void Collect(std::chrono::milliseconds bridge_timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    last_progress_ = Clock::now();
    while (open_slots_ > 0) {
      const Clock::time_point give_up = last_progress_ + bridge_timeout + quiet_;
      Clock::time_point wake = give_up;
      if (!retries_.empty()) wake = std::min(wake, retries_.front().first);
      cv_.wait_until(lock, wake, [&] {
        return !outcomes_.empty() || (!retries_.empty() && retries_.front().first <= Clock::now());
      });
      if (outcomes_.empty() && retries_.empty() && Clock::now() >= give_up) break;
      while (!outcomes_.empty()) {
        auto [slot, out] = std::move(outcomes_.front());
        outcomes_.pop_front();
        Handle(slot, out);
      }
      std::vector<int64_t> due;
      while (!retries_.empty() && retries_.front().first <= Clock::now()) {
        due.push_back(retries_.front().second);
        retries_.pop_front();
      }
      if (!due.empty()) {
        lock.unlock();
        for (int64_t slot : due) Submit(slot);
        lock.lock();
      }
    }
  }

  // The uuids without a final outcome (call after Collect() and the gateway's Close()).
  std::vector<std::string> Unresolved() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (int64_t i = 0; i < flags_.orders; ++i) {
      if (!final_[i]) out.push_back(Uuid(i));
    }
    return out;
  }

 private:
  std::string Uuid(int64_t i) const { return flags_.prefix + "-" + std::to_string(i); }

  void Submit(int64_t slot) {
    ordergate::Order order;
    order.uuid = Uuid(slot / 2);
    order.action = ordergate::OrderAction::kOpen;
    order.symbol = "EURUSD";
    order.type = ordergate::TradeType::kBuy;
    order.volume = 0.01;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++attempts_[slot];
      last_progress_ = Clock::now();
    }
    // Runs on the pipeline thread (or on this one for an immediate refusal): queue and return.
    gw_->Submit(order, [this, slot](const ordergate::Outcome& out) {
      std::lock_guard<std::mutex> lock(mu_);
      outcomes_.emplace_back(slot, out);
      cv_.notify_all();
    });
  }

  // With mu_ held.
  void Handle(int64_t slot, const ordergate::Outcome& out) {
    last_progress_ = Clock::now();
    std::string line = "{\"uuid\":" + Quoted(out.uuid) +
                       ",\"status\":" + Quoted(ordergate::OutcomeStatusName(out.status)) +
                       ",\"ticket\":" + std::to_string(out.ticket) +
                       ",\"duplicate\":" + (out.duplicate ? "true" : "false");
    if (!out.error_code.empty()) line += ",\"error_code\":" + Quoted(out.error_code);
    line += "}\n";
    std::fputs(line.c_str(), stdout);
    // Each outcome is out as soon as it is known: a supervisor (or a kill -9) loses none.
    std::fflush(stdout);
    if (NotNow(out) && attempts_[slot] < kMaxAttempts) {
      retries_.emplace_back(Clock::now() + kRetryDelay, slot);
      return;
    }
    --open_slots_;
    if (!NotNow(out) && out.status != ordergate::OutcomeStatus::kInFlight) final_[slot / 2] = true;
  }

  const Flags flags_;
  const Clock::duration quiet_;
  ordergate::Gateway* gw_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t first_submitted_ = 0;  // thread A's progress, which thread B follows
  int64_t open_slots_ = 2 * flags_.orders;
  std::vector<int> attempts_;
  std::vector<bool> final_;
  std::deque<std::pair<int64_t, ordergate::Outcome>> outcomes_;
  std::deque<std::pair<Clock::time_point, int64_t>> retries_;  // due in time order
  Clock::time_point last_progress_ = Clock::now();
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  bool help = false;
  if (std::optional<std::string> bad = ParseFlags(argc, argv, &flags, &help)) {
    std::fprintf(stderr, "embedded_strategy: %s\n%s", bad->c_str(), kUsage);
    return 2;
  }
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }

  ordergate::GatewayOptions options;
  options.bridge_endpoint = flags.bridge;
  options.data_dir = flags.data_dir;
  options.durability = flags.durability;

  // Declared before the gateway, so that it outlives every callback (Close() runs them all).
  Run run(flags, kQuiet);
  absl::StatusOr<std::unique_ptr<ordergate::Gateway>> opened = ordergate::Gateway::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "embedded_strategy: cannot open the gateway: %s\n",
                 std::string(opened.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<ordergate::Gateway> gw = std::move(*opened);
  run.Attach(gw.get());

  // Open() does not wait for the bridge: give the link a moment, so that the first orders are not
  // all refused with BRIDGE_DOWN (they would be retried; this only spares the noise).
  for (int i = 0; i < 100 && !gw->stats().bridge_up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::thread a([&run] { run.SubmitFirsts(); });
  std::thread b([&run] { run.SubmitRetries(); });
  run.Collect(std::chrono::milliseconds(options.bridge_timeout_ms));
  a.join();
  b.join();

  // Every outcome is in: the counters are those of the whole run.
  const ordergate::GatewayStats s = gw->stats();
  std::fprintf(
      stderr,
      "embedded_strategy: submitted %llu, sent %llu, filled %llu, rejected %llu, "
      "unknown %llu, duplicates %llu, refused %llu, store batches %llu\n",
      static_cast<unsigned long long>(s.submitted), static_cast<unsigned long long>(s.sent),
      static_cast<unsigned long long>(s.filled), static_cast<unsigned long long>(s.rejected),
      static_cast<unsigned long long>(s.unknown), static_cast<unsigned long long>(s.duplicates),
      static_cast<unsigned long long>(s.refused), static_cast<unsigned long long>(s.store_batches));
  const absl::Status closed = gw->Close();
  std::fflush(stdout);
  int rc = 0;
  if (!closed.ok()) {
    std::fprintf(stderr, "embedded_strategy: close: %s\n", std::string(closed.message()).c_str());
    rc = 1;
  }
  const std::vector<std::string> unresolved = run.Unresolved();
  if (!unresolved.empty()) {
    std::fprintf(stderr, "embedded_strategy: %zu of %lld uuids have no final outcome, e.g. %s\n",
                 unresolved.size(), static_cast<long long>(flags.orders),
                 unresolved.front().c_str());
    rc = 1;
  }
  return rc;
}
