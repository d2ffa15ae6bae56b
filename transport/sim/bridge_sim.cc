#include "transport/sim/bridge_sim.h"

#include <fcntl.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "transport/sim/sim_json.h"

namespace ordergate::transport::sim {
namespace {

using internal::AppendEscaped;
using internal::ObjectWriter;

constexpr int64_t kFirstTicket = 100000001;
// z-score of the 99th percentile: sigma of a lognormal given its p50 and p99.
constexpr double kZ99 = 2.3263;

int64_t NowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- time ----

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::optional<int64_t> ToUnixUs(int y, int mo, int d, int h, int mi, int sec, int64_t frac_us) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const time_t t = timegm(&tm);
  // timegm normalises Feb 30 into March: a changed day means the date did not exist.
  if (tm.tm_mday != d || tm.tm_mon != mo - 1) return std::nullopt;
  return static_cast<int64_t>(t) * 1000000 + frac_us;
}

// Parses ".f{1,max_digits}" at `pos` into microseconds; advances pos. Absent fraction is fine.
bool ParseFraction(std::string_view s, size_t* pos, size_t max_digits, int64_t* us) {
  *us = 0;
  if (*pos >= s.size() || s[*pos] != '.') return true;
  size_t i = *pos + 1;
  size_t n = 0;
  int64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n < 6) v = v * 10 + (s[i] - '0');
    ++n;
    ++i;
  }
  if (n == 0 || n > max_digits) return false;
  for (size_t k = std::min<size_t>(n, 6); k < 6; ++k) v *= 10;
  *us = v;
  *pos = i;
  return true;
}

// Either ISO form, for PING's optional timestamp; no zone means UTC.
std::optional<int64_t> ParseIsoAnyUtc(std::string_view s) {
  if (auto basic = ParseIsoBasicUtc(absl::string_view(s.data(), s.size()))) return basic;
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (!ParseDigits(s, 0, 4, &y) || !ParseDigits(s, 5, 2, &mo) || !ParseDigits(s, 8, 2, &d) ||
      !ParseDigits(s, 11, 2, &h) || !ParseDigits(s, 14, 2, &mi) || !ParseDigits(s, 17, 2, &sec))
    return std::nullopt;
  size_t pos = 19;
  int64_t frac = 0;
  if (!ParseFraction(s, &pos, 9, &frac)) return std::nullopt;
  std::string_view rest = s.substr(pos);
  if (!(rest.empty() || rest == "Z" || rest == "+00:00")) return std::nullopt;
  return ToUnixUs(y, mo, d, h, mi, sec, frac);
}

std::string UpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool IsOrderType(std::string_view t) {
  return t == "BUY" || t == "SELL" || t == "BUY_LIMIT" || t == "SELL_LIMIT" || t == "BUY_STOP" ||
         t == "SELL_STOP";
}

// A JSON number of any representation as double.
bool GetNumber(simdjson::dom::element el, double* out) {
  switch (el.type()) {
    case simdjson::dom::element_type::DOUBLE:
      *out = el.get_double().value_unsafe();
      return true;
    case simdjson::dom::element_type::INT64:
      *out = static_cast<double>(el.get_int64().value_unsafe());
      return true;
    case simdjson::dom::element_type::UINT64:
      *out = static_cast<double>(el.get_uint64().value_unsafe());
      return true;
    default:
      return false;
  }
}

bool GetString(simdjson::dom::object obj, std::string_view key, std::string_view* out) {
  simdjson::dom::element el;
  if (obj.at_key(key).get(el) != simdjson::SUCCESS) return false;
  return el.get_string().get(*out) == simdjson::SUCCESS;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

enum class Fault : uint8_t {
  kNone,
  kNoReply,
  kLate,
  kReject,
  kCrash,
  kNoTicket,
  kOddReply,
  kStall
};

// One order's draws: its fault, how long its MT5 call takes, and for an odd reply which one and
// whether the order executed before it.
struct OrderDraw {
  Fault fault = Fault::kNone;
  double latency_ms = 0;
  uint32_t odd_kind = 0;
  bool odd_executed = false;
};

// What ORDER_STATUS answers for an executed order, from its journal line: the writer puts
// "reply" last, so its raw text is the exact bytes of the reply once given; a line without it
// (older writers) gets a minimal FILLED with the ticket.
std::string JournalReplyText(const std::string& line, simdjson::dom::object obj, int64_t ticket) {
  simdjson::dom::object reply;
  const bool has_reply = obj["reply"].get_object().get(reply) == simdjson::SUCCESS;
  const size_t pos = line.find(",\"reply\":");
  if (has_reply && pos != std::string::npos && !line.empty() && line.back() == '}') {
    return line.substr(pos + 9, line.size() - 1 - (pos + 9));
  }
  std::string text;
  ObjectWriter w(text);
  w.Raw("uuid", simdjson::minify(obj["uuid"])).Str("status", "FILLED").Int("ticket", ticket);
  w.Close();
  return text;
}

}  // namespace

// ---- public helpers ----

namespace {

std::string FormatIsoUtc(int64_t unix_us, bool basic) {
  int64_t secs = unix_us / 1000000;
  int64_t frac = unix_us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  const time_t t = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf,
                basic ? "%04d%02d%02dT%02d%02d%02d.%06dZ" : "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

}  // namespace

std::string FormatIsoBasicUtc(int64_t unix_us) { return FormatIsoUtc(unix_us, /*basic=*/true); }

std::string FormatIsoExtendedUtc(int64_t unix_us) { return FormatIsoUtc(unix_us, /*basic=*/false); }

std::optional<int64_t> ParseIsoBasicUtc(absl::string_view as) {
  std::string_view s(as.data(), as.size());
  int y, mo, d, h, mi, sec;
  if (s.size() < 16 || s[8] != 'T') return std::nullopt;
  if (!ParseDigits(s, 0, 4, &y) || !ParseDigits(s, 4, 2, &mo) || !ParseDigits(s, 6, 2, &d) ||
      !ParseDigits(s, 9, 2, &h) || !ParseDigits(s, 11, 2, &mi) || !ParseDigits(s, 13, 2, &sec))
    return std::nullopt;
  size_t pos = 15;
  int64_t frac = 0;
  // Six digits at most, as Python's %f (the real bridge's strptime) accepts.
  if (!ParseFraction(s, &pos, 6, &frac)) return std::nullopt;
  if (pos + 1 != s.size() || s[pos] != 'Z') return std::nullopt;
  return ToUnixUs(y, mo, d, h, mi, sec, frac);
}

absl::StatusOr<LatencyModel> LatencyModel::Parse(absl::string_view spec) {
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  auto num = [&](size_t i, double* out) {
    return absl::SimpleAtod(parts[i], out) && std::isfinite(*out) && *out >= 0;
  };
  LatencyModel m;
  if (parts[0] == "fixed" && parts.size() == 2) {
    m.kind = Kind::kFixed;
    if (num(1, &m.a_ms)) return m;
  } else if (parts[0] == "uniform" && parts.size() == 3) {
    m.kind = Kind::kUniform;
    if (num(1, &m.a_ms) && num(2, &m.b_ms) && m.a_ms <= m.b_ms) return m;
  } else if (parts[0] == "lognormal" && parts.size() == 3) {
    m.kind = Kind::kLognormal;
    if (num(1, &m.a_ms) && num(2, &m.b_ms) && m.a_ms > 0 && m.a_ms <= m.b_ms) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad latency model '", spec,
                   "': want fixed:MS, uniform:MIN_MS:MAX_MS (MIN <= MAX) or "
                   "lognormal:P50_MS:P99_MS (0 < P50 <= P99)"));
}

std::string LatencyModel::ToString() const {
  std::ostringstream os;
  switch (kind) {
    case Kind::kFixed:
      os << "fixed:" << a_ms;
      break;
    case Kind::kUniform:
      os << "uniform:" << a_ms << ':' << b_ms;
      break;
    case Kind::kLognormal:
      os << "lognormal:" << a_ms << ':' << b_ms;
      break;
  }
  return os.str();
}

std::string BridgeSimStats::ToString() const {
  std::ostringstream os;
  os << "requests=" << requests << " executed=" << executed << " rejected=" << rejected
     << " errors=" << errors << " expired=" << expired << " fault_no_reply=" << fault_no_reply
     << " fault_late=" << fault_late << " fault_reject=" << fault_reject
     << " fault_crash=" << fault_crash << " fault_no_ticket=" << fault_no_ticket
     << " fault_odd_reply=" << fault_odd_reply << " fault_odd_executed=" << fault_odd_executed
     << " fault_stall=" << fault_stall << " malformed_frames=" << malformed_frames;
  return os.str();
}

// ---- the simulator ----

class BridgeSim::Impl {
 public:
  Impl(const BridgeSimOptions& options, zmq::context_t* context) : opt_(options), ctx_(context) {}

  ~Impl() {
    if (journal_fd_ >= 0) ::close(journal_fd_);
    router_.reset();  // sockets before the context, or the context's destructor blocks forever
    owned_ctx_.reset();
  }

  absl::Status Init();
  void Run();
  void Stop() {
    {
      // Under the lock so a sleeper between its predicate check and its wait cannot miss it.
      std::lock_guard<std::mutex> l(stop_mu_);
      stop_.store(true);
    }
    stop_cv_.notify_all();
    jobs_cv_.notify_all();
  }
  BridgeSimStats stats() const;

  const std::string& endpoint() const { return endpoint_; }
  uint64_t seed() const { return seed_; }

 private:
  struct Scratch {
    simdjson::dom::parser parser;
    std::vector<char> buf;
  };
  struct Outcome {
    std::string reply;
    bool send = true;
    int64_t delay_ms = 0;  // > 0 only in worker mode (serial mode sleeps in the handler instead)
  };
  struct Position {
    int64_t ticket = 0;
    std::string symbol;
    std::string type;
    double volume = 0;
    double open_price = 0;
  };
  struct Record {
    int pending = 0;    // executions of this uuid in progress
    std::string reply;  // the last reply given (or withheld by a fault) for it; empty: none yet
  };
  struct Job {
    std::vector<zmq::message_t> frames;  // envelope frames, then the body as the last frame
  };

  Outcome Handle(const zmq::message_t& body, Scratch& s, bool serial);
  Outcome HandleOpen(simdjson::dom::object obj, const std::string& uuid_json,
                     const std::string* uuid_key, int64_t t0_us, int64_t t0_ns, bool serial);
  Outcome HandleClose(simdjson::dom::object obj, const std::string& uuid_json,
                      const std::string* uuid_key, int64_t t0_ns, bool serial);
  std::string HandleAccount(const std::string& uuid_json);
  std::string HandlePositions(simdjson::dom::object obj, const std::string& uuid_json);
  std::string HandleOrderStatus(const std::string& uuid_json, const std::string* uuid_key);

  std::string ErrorReply(const std::string& uuid_json, std::string_view status,
                         std::string_view code, std::string_view msg);
  // Builds a REJECTED reply, counts it and records it for ORDER_STATUS.
  Outcome Reject(const std::string& uuid_json, const std::string* uuid_key, std::string_view code,
                 std::string_view msg);

  // Draws the fault and the latency of one order; registers it as PENDING. Locks mu_.
  OrderDraw BeginOrder(const std::string* uuid_key);
  // The odd reply of `draw` for an order that reached MT5. If the draw says it executed, its real
  // FILLED reply `real_reply` is journalled and kept for ORDER_STATUS (the caller has placed the
  // position); otherwise nothing is recorded. Requires mu_.
  std::string OddReplyLocked(const OrderDraw& draw, const std::string& uuid_json,
                             const std::string* uuid_key, std::string_view action, int64_t ticket,
                             std::string_view type, const std::string& real_reply,
                             std::string_view symbol, double volume, double price);
  // Requires mu_.
  void EndPendingLocked(const std::string* uuid_key);
  void RecordLocked(const std::string& key, const std::string& reply);
  Record& RecordSlotLocked(const std::string& key);
  // Requires mu_. Appends one line and returns once write(2) returned.
  void JournalLocked(const std::string& uuid_json, std::string_view action, int64_t ticket,
                     std::string_view type, const std::string& reply);
  absl::Status LoadJournal();
  // The reply an ORDER_STATUS gives for a uuid the journal holds but records_ forgot (evicted by
  // order_status_capacity): the last complete journal line of that uuid. Reads the whole file;
  // takes no lock (lines are appended whole, and a line still being written has no newline).
  std::optional<std::string> FindInJournal(const std::string& uuid_json);

  // Sleeps `ms` unless Stop() comes first; false if stopped.
  bool SleepMs(double ms);
  // Outcome after the fault has been applied: withholds or delays the reply, or crashes.
  Outcome Deliver(std::string reply, Fault fault, bool serial);

  bool RecvFrames(zmq::socket_t& sock, std::vector<zmq::message_t>* frames);
  void SendReply(std::vector<zmq::message_t>& frames, size_t envelope_end,
                 const std::string& reply);
  void RunSerial();
  void RunWorkers();
  void WorkerLoop(const std::string& inproc);

  BridgeSimOptions opt_;
  zmq::context_t* ctx_;
  std::unique_ptr<zmq::context_t> owned_ctx_;
  std::optional<zmq::socket_t> router_;
  std::string endpoint_;
  uint64_t seed_ = 0;

  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<Job> jobs_;

  // Order state shared by the workers.
  std::mutex mu_;
  std::mt19937_64 rng_;
  int64_t next_ticket_ = kFirstTicket;
  std::map<int64_t, Position> positions_;
  absl::flat_hash_map<std::string, Record> records_;
  std::deque<std::string> record_order_;  // eviction order for order_status_capacity
  // Records were evicted: a miss may be an executed order the journal still knows.
  std::atomic<bool> evicted_{false};
  int journal_fd_ = -1;

  std::atomic<uint64_t> requests_{0}, executed_{0}, rejected_{0}, errors_{0}, expired_{0};
  std::atomic<uint64_t> f_no_reply_{0}, f_late_{0}, f_reject_{0}, f_crash_{0}, f_no_ticket_{0};
  std::atomic<uint64_t> f_odd_{0}, f_odd_executed_{0}, f_stall_{0};
  std::atomic<uint64_t> malformed_{0};
};

absl::Status BridgeSim::Impl::Init() {
  const auto& f = opt_.faults;
  for (double p : {f.no_reply, f.late, f.reject, f.crash, f.no_ticket, f.odd_reply, f.stall,
                   f.odd_reply_executed}) {
    if (!(p >= 0 && p <= 1))
      return absl::InvalidArgumentError("fault probabilities must be in [0, 1]");
  }
  if (f.no_reply + f.late + f.reject + f.crash + f.no_ticket + f.odd_reply + f.stall > 1 + 1e-9) {
    return absl::InvalidArgumentError("fault probabilities must sum to at most 1");
  }
  if (f.late_ms < 0) return absl::InvalidArgumentError("fault late ms must be >= 0");
  if (f.stall_ms < 0) return absl::InvalidArgumentError("fault stall ms must be >= 0");
  if (f.odd_reply > 0 && (f.odd_reply_kinds & kAllOddReplies) == 0) {
    return absl::InvalidArgumentError("odd reply fault with no odd reply kind");
  }
  if (opt_.socket_hwm < 0) return absl::InvalidArgumentError("socket hwm must be >= 0");
  if (opt_.workers < 1 || opt_.workers > 1024) {
    return absl::InvalidArgumentError("workers must be in [1, 1024]");
  }
  if (opt_.signature_ttl_ms < 0) return absl::InvalidArgumentError("signature ttl must be >= 0");
  if (opt_.order_status_capacity == 0) {
    return absl::InvalidArgumentError("order status capacity must be > 0");
  }
  // Sized once: growing a table of hundreds of thousands of records rehashes them all while an
  // order waits, a stall of tens of milliseconds that the real bridge does not have and that would
  // be charged to whatever is measured through the simulator. Untouched slots cost no memory.
  if (opt_.order_status) records_.reserve(opt_.order_status_capacity + 1);

  if (opt_.seed) {
    seed_ = *opt_.seed;
  } else {
    std::random_device rd;
    seed_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  rng_.seed(seed_);

  if (!opt_.journal_path.empty()) {
    if (absl::Status st = LoadJournal(); !st.ok()) return st;
    journal_fd_ =
        ::open(opt_.journal_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (journal_fd_ < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot open journal ", opt_.journal_path, ": ", std::strerror(errno)));
    }
  }

  try {
    if (ctx_ == nullptr) {
      owned_ctx_ = std::make_unique<zmq::context_t>(1);
      ctx_ = owned_ctx_.get();
    }
    router_.emplace(*ctx_, zmq::socket_type::router);
    // Long enough to flush replies at shutdown, short enough never to hang a test.
    router_->set(zmq::sockopt::linger, 1000);
    router_->set(zmq::sockopt::sndhwm, opt_.socket_hwm);
    router_->set(zmq::sockopt::rcvhwm, opt_.socket_hwm);
    router_->bind(opt_.bind);
    endpoint_ = router_->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    router_.reset();
    return absl::UnavailableError(absl::StrCat("cannot bind ", opt_.bind, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status BridgeSim::Impl::LoadJournal() {
  std::ifstream in(opt_.journal_path);
  if (!in) return absl::OkStatus();  // first run
  simdjson::dom::parser parser;
  std::string line;
  size_t lineno = 0, loaded = 0, skipped = 0;
  int64_t max_ticket = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    simdjson::dom::element root;
    simdjson::dom::object obj;
    if (parser.parse(line).get(root) != simdjson::SUCCESS || root.get_object().get(obj)) {
      // A crash mid-write can leave a torn last line; everything before it still counts.
      ++skipped;
      spdlog::warn("bridge-sim: journal {} line {} unreadable, skipped", opt_.journal_path, lineno);
      continue;
    }
    std::string_view action;
    int64_t ticket = 0;
    if (!GetString(obj, "action", &action) || obj["ticket"].get_int64().get(ticket)) {
      ++skipped;
      spdlog::warn("bridge-sim: journal {} line {} lacks action/ticket, skipped", opt_.journal_path,
                   lineno);
      continue;
    }
    ++loaded;
    max_ticket = std::max(max_ticket, ticket);
    std::string_view uuid;
    const bool has_uuid = GetString(obj, "uuid", &uuid);
    simdjson::dom::object reply;
    const bool has_reply = obj["reply"].get_object().get(reply) == simdjson::SUCCESS;
    if (action == "OPEN") {
      Position p;
      p.ticket = ticket;
      std::string_view sv;
      if (GetString(obj, "type", &sv)) p.type = std::string(sv);
      if (has_reply) {
        if (GetString(reply, "symbol", &sv)) p.symbol = std::string(sv);
        simdjson::dom::element el;
        if (reply["volume"].get(el) == simdjson::SUCCESS) GetNumber(el, &p.volume);
        if (reply["price"].get(el) == simdjson::SUCCESS) GetNumber(el, &p.open_price);
      }
      positions_[ticket] = std::move(p);
    } else if (action == "CLOSE") {
      positions_.erase(ticket);
    }
    if (has_uuid) RecordLocked(std::string(uuid), JournalReplyText(line, obj, ticket));
  }
  if (max_ticket >= next_ticket_) next_ticket_ = max_ticket + 1;
  spdlog::info(
      "bridge-sim: journal {}: {} executed orders loaded, {} lines skipped, next ticket {}",
      opt_.journal_path, loaded, skipped, next_ticket_);
  return absl::OkStatus();
}

BridgeSimStats BridgeSim::Impl::stats() const {
  BridgeSimStats s;
  s.requests = requests_.load(std::memory_order_relaxed);
  s.executed = executed_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.expired = expired_.load(std::memory_order_relaxed);
  s.fault_no_reply = f_no_reply_.load(std::memory_order_relaxed);
  s.fault_late = f_late_.load(std::memory_order_relaxed);
  s.fault_reject = f_reject_.load(std::memory_order_relaxed);
  s.fault_crash = f_crash_.load(std::memory_order_relaxed);
  s.fault_no_ticket = f_no_ticket_.load(std::memory_order_relaxed);
  s.fault_odd_reply = f_odd_.load(std::memory_order_relaxed);
  s.fault_odd_executed = f_odd_executed_.load(std::memory_order_relaxed);
  s.fault_stall = f_stall_.load(std::memory_order_relaxed);
  s.malformed_frames = malformed_.load(std::memory_order_relaxed);
  return s;
}

bool BridgeSim::Impl::SleepMs(double ms) {
  if (ms <= 0) return true;  // no lock on the fast path
  std::unique_lock<std::mutex> l(stop_mu_);
  const auto d = std::chrono::microseconds(static_cast<int64_t>(std::llround(ms * 1000.0)));
  return !stop_cv_.wait_for(l, d, [this] { return stop_.load(); });
}

std::string BridgeSim::Impl::ErrorReply(const std::string& uuid_json, std::string_view status,
                                        std::string_view code, std::string_view msg) {
  std::string out;
  out.reserve(160);
  ObjectWriter w(out);
  w.Raw("uuid", uuid_json)
      .Str("status", status)
      .Str("error_code", code)
      .Str("error_msg", msg)
      .Str("timestamp", FormatIsoExtendedUtc(NowUnixUs()));
  w.Close();
  return out;
}

BridgeSim::Impl::Outcome BridgeSim::Impl::Reject(const std::string& uuid_json,
                                                 const std::string* uuid_key, std::string_view code,
                                                 std::string_view msg) {
  Outcome o;
  o.reply = ErrorReply(uuid_json, "REJECTED", code, msg);
  rejected_.fetch_add(1, std::memory_order_relaxed);
  if (uuid_key != nullptr && opt_.order_status) {
    std::lock_guard<std::mutex> l(mu_);
    RecordLocked(*uuid_key, o.reply);
  }
  return o;
}

BridgeSim::Impl::Record& BridgeSim::Impl::RecordSlotLocked(const std::string& key) {
  auto [it, inserted] = records_.try_emplace(key);
  if (inserted) {
    record_order_.push_back(key);
    // Bounded so a long benchmark cannot grow the simulator without limit.
    size_t guard = record_order_.size();
    while (records_.size() > opt_.order_status_capacity && guard-- > 0) {
      std::string oldest = std::move(record_order_.front());
      record_order_.pop_front();
      auto old = records_.find(oldest);
      if (old == records_.end()) continue;
      if (old->second.pending > 0 || oldest == key) {
        record_order_.push_back(std::move(oldest));  // still in use: keep it
        continue;
      }
      records_.erase(old);
      evicted_.store(true, std::memory_order_relaxed);
    }
    it = records_.find(key);
  }
  return it->second;
}

void BridgeSim::Impl::RecordLocked(const std::string& key, const std::string& reply) {
  RecordSlotLocked(key).reply = reply;
}

void BridgeSim::Impl::EndPendingLocked(const std::string* uuid_key) {
  if (uuid_key == nullptr || !opt_.order_status) return;
  auto it = records_.find(*uuid_key);
  if (it != records_.end() && it->second.pending > 0) --it->second.pending;
}

OrderDraw BridgeSim::Impl::BeginOrder(const std::string* uuid_key) {
  std::lock_guard<std::mutex> l(mu_);
  if (uuid_key != nullptr && opt_.order_status) ++RecordSlotLocked(*uuid_key).pending;
  OrderDraw draw;
  Fault& fault = draw.fault;
  const auto& f = opt_.faults;
  if (f.no_reply + f.late + f.reject + f.crash + f.no_ticket + f.odd_reply + f.stall > 0) {
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    // New kinds go last: a seed keeps drawing the same faults for the older kinds.
    const std::pair<double, Fault> table[] = {
        {f.crash, Fault::kCrash},      {f.reject, Fault::kReject}, {f.no_ticket, Fault::kNoTicket},
        {f.no_reply, Fault::kNoReply}, {f.late, Fault::kLate},     {f.odd_reply, Fault::kOddReply},
        {f.stall, Fault::kStall}};
    for (const auto& [p, kind] : table) {
      if (u < p) {
        fault = kind;
        break;
      }
      u -= p;
    }
  }
  if (fault == Fault::kOddReply) {
    const int n = internal::CountOddReplyKinds(f.odd_reply_kinds);
    draw.odd_kind = internal::NthOddReplyKind(f.odd_reply_kinds,
                                              std::uniform_int_distribution<int>(0, n - 1)(rng_));
    draw.odd_executed = std::bernoulli_distribution(f.odd_reply_executed)(rng_);
  }
  if (fault == Fault::kStall) {
    f_stall_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("bridge-sim: injected stall: this MT5 call takes {} ms", f.stall_ms);
    draw.latency_ms = static_cast<double>(f.stall_ms);
    return draw;
  }
  double ms = 0;
  const LatencyModel& m = opt_.latency;
  switch (m.kind) {
    case LatencyModel::Kind::kFixed:
      ms = m.a_ms;
      break;
    case LatencyModel::Kind::kUniform:
      ms = m.a_ms == m.b_ms ? m.a_ms : std::uniform_real_distribution<double>(m.a_ms, m.b_ms)(rng_);
      break;
    case LatencyModel::Kind::kLognormal: {
      const double mu = std::log(m.a_ms);
      const double sigma = (std::log(m.b_ms) - mu) / kZ99;
      ms = sigma > 0 ? std::exp(std::normal_distribution<double>(mu, sigma)(rng_)) : m.a_ms;
      break;
    }
  }
  draw.latency_ms = ms;
  return draw;
}

std::string BridgeSim::Impl::OddReplyLocked(const OrderDraw& draw, const std::string& uuid_json,
                                            const std::string* uuid_key, std::string_view action,
                                            int64_t ticket, std::string_view type,
                                            const std::string& real_reply, std::string_view symbol,
                                            double volume, double price) {
  f_odd_.fetch_add(1, std::memory_order_relaxed);
  if (draw.odd_executed) {
    f_odd_executed_.fetch_add(1, std::memory_order_relaxed);
    JournalLocked(uuid_json, action, ticket, type, real_reply);
    executed_.fetch_add(1, std::memory_order_relaxed);
    // ORDER_STATUS tells the truth the odd reply withheld.
    if (uuid_key != nullptr && opt_.order_status) RecordLocked(*uuid_key, real_reply);
  }
  return internal::OddReplyText(draw.odd_kind, uuid_json, draw.odd_executed ? ticket : 0, symbol,
                                volume, price, FormatIsoExtendedUtc(NowUnixUs()));
}

void BridgeSim::Impl::JournalLocked(const std::string& uuid_json, std::string_view action,
                                    int64_t ticket, std::string_view type,
                                    const std::string& reply) {
  if (journal_fd_ < 0) return;
  std::string line;
  line.reserve(reply.size() + uuid_json.size() + 96);
  ObjectWriter w(line);
  w.Raw("uuid", uuid_json).Str("action", action).Int("ticket", ticket).Int("time_us", NowUnixUs());
  if (!type.empty()) w.Str("type", type);
  w.Raw("reply", reply);  // last, so a reload can take its raw bytes
  w.Close();
  line += '\n';
  // One write(2) of the whole line with O_APPEND: a crash after it leaves a complete line.
  if (!WriteAll(journal_fd_, line)) {
    spdlog::error("bridge-sim: journal write failed: {}", std::strerror(errno));
  }
}

BridgeSim::Impl::Outcome BridgeSim::Impl::Deliver(std::string reply, Fault fault, bool serial) {
  Outcome o;
  o.reply = std::move(reply);
  switch (fault) {
    case Fault::kCrash:
      f_crash_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("bridge-sim: injected crash after execution");
      spdlog::default_logger()->flush();
      std::fflush(nullptr);
      ::_exit(3);
    case Fault::kNoReply:
      f_no_reply_.fetch_add(1, std::memory_order_relaxed);
      o.send = false;
      break;
    case Fault::kLate:
      f_late_.fetch_add(1, std::memory_order_relaxed);
      if (serial) {
        SleepMs(static_cast<double>(opt_.faults.late_ms));  // the queue waits too, as on a REP
      } else {
        o.delay_ms = opt_.faults.late_ms;
      }
      break;
    default:
      break;
  }
  return o;
}

BridgeSim::Impl::Outcome BridgeSim::Impl::HandleOpen(simdjson::dom::object obj,
                                                     const std::string& uuid_json,
                                                     const std::string* uuid_key, int64_t t0_us,
                                                     int64_t t0_ns, bool serial) {
  if (opt_.mt5_disconnected) {
    return Reject(uuid_json, uuid_key, "MT5_NOT_CONNECTED", "MT5 terminal not connected");
  }
  std::string_view symbol;
  if (!GetString(obj, "symbol", &symbol) || symbol.empty()) {
    return Reject(uuid_json, uuid_key, "MISSING_SYMBOL", "Missing symbol");
  }
  std::string_view type_in;
  if (!GetString(obj, "type", &type_in) || type_in.empty()) {
    return Reject(uuid_json, uuid_key, "MISSING_TYPE", "Missing type");
  }
  std::string type = UpperAscii(type_in);
  if (!IsOrderType(type)) {
    return Reject(uuid_json, uuid_key, "MISSING_TYPE", absl::StrCat("Invalid order type: ", type));
  }
  double volume = 0;
  simdjson::dom::element el;
  if (obj["volume"].get(el) != simdjson::SUCCESS || !GetNumber(el, &volume) ||
      !std::isfinite(volume) || volume <= 0) {
    return Reject(uuid_json, uuid_key, "INVALID_VOLUME", "Volume must be a number > 0");
  }
  double price = 0;
  if (obj["price"].get(el) == simdjson::SUCCESS && GetNumber(el, &price) &&
      !(std::isfinite(price) && price > 0)) {
    price = 0;
  }
  if (opt_.require_signature) {
    std::string_view sig;
    if (!GetString(obj, "risk_signature", &sig) || sig.empty()) {
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID", "Missing risk_signature");
    }
    std::vector<absl::string_view> parts =
        absl::StrSplit(absl::string_view(sig.data(), sig.size()), ':');
    if (parts.size() != 3 || parts[0] != "RISK_PASS") {
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID",
                    "Malformed risk_signature: want RISK_PASS:<checksum>:<timestamp>");
    }
    if (parts[1].size() < 8) {
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID", "Checksum too short");
    }
    std::optional<int64_t> ts = ParseIsoBasicUtc(parts[2]);
    if (!ts) {
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID",
                    "Invalid signature timestamp: want YYYYMMDDTHHMMSS.ffffffZ");
    }
    // t0 is when this request was dequeued: time spent queued counts against the TTL.
    if (t0_us - *ts > opt_.signature_ttl_ms * 1000) {
      expired_.fetch_add(1, std::memory_order_relaxed);
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID", "Signature expired");
    }
  }

  const OrderDraw draw = BeginOrder(uuid_key);
  const Fault fault = draw.fault;
  if (!SleepMs(draw.latency_ms)) {
    std::lock_guard<std::mutex> l(mu_);
    EndPendingLocked(uuid_key);
    return Outcome{{}, false, 0};  // stopped before MT5 saw it
  }
  const double elapsed_ms = static_cast<double>(SteadyNs() - t0_ns) / 1e6;
  if (fault == Fault::kReject) {
    f_reject_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> l(mu_);
      EndPendingLocked(uuid_key);
    }
    return Reject(uuid_json, uuid_key, "MT5_ORDER_FAILED",
                  "order_send failed: retcode 10006 (injected)");
  }
  const double fill = price > 0 ? price : opt_.quote;
  std::string reply;
  reply.reserve(256);
  {
    std::lock_guard<std::mutex> l(mu_);
    EndPendingLocked(uuid_key);
    const bool odd = fault == Fault::kOddReply;
    const bool place = fault != Fault::kNoTicket && (!odd || draw.odd_executed);
    const int64_t ticket = place ? next_ticket_++ : 0;
    ObjectWriter w(reply);
    w.Raw("uuid", uuid_json)
        .Str("status", "FILLED")
        .Int("ticket", ticket)
        .Str("symbol", symbol)
        .Num("volume", volume)
        .Num("price", fill)
        .Str("execution_time", FormatIsoExtendedUtc(NowUnixUs()))
        .Num("latency_ms", elapsed_ms);
    w.Close();
    if (odd) {
      if (place) positions_[ticket] = Position{ticket, std::string(symbol), type, volume, fill};
      return Outcome{OddReplyLocked(draw, uuid_json, uuid_key, "OPEN", ticket, type, reply, symbol,
                                    volume, fill),
                     true, 0};
    }
    if (ticket != 0) {
      positions_[ticket] = Position{ticket, std::string(symbol), type, volume, fill};
      JournalLocked(uuid_json, "OPEN", ticket, type, reply);
      executed_.fetch_add(1, std::memory_order_relaxed);
    } else {
      f_no_ticket_.fetch_add(1, std::memory_order_relaxed);
    }
    if (uuid_key != nullptr && opt_.order_status) RecordLocked(*uuid_key, reply);
  }
  return Deliver(std::move(reply), fault, serial);
}

BridgeSim::Impl::Outcome BridgeSim::Impl::HandleClose(simdjson::dom::object obj,
                                                      const std::string& uuid_json,
                                                      const std::string* uuid_key, int64_t t0_ns,
                                                      bool serial) {
  if (opt_.mt5_disconnected) {
    return Reject(uuid_json, uuid_key, "MT5_NOT_CONNECTED", "MT5 terminal not connected");
  }
  int64_t ticket = 0;
  simdjson::dom::element el;
  bool ok = obj["ticket"].get(el) == simdjson::SUCCESS;
  if (ok) {
    if (el.get_int64().get(ticket) != simdjson::SUCCESS) {
      double d = 0;
      ok = el.is_double() && el.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d) &&
           d == std::trunc(d) && std::fabs(d) < 9e15;
      ticket = ok ? static_cast<int64_t>(d) : 0;
    }
  }
  if (!ok) {
    return Reject(uuid_json, uuid_key, "MT5_CLOSE_FAILED", "Missing or invalid ticket");
  }

  const OrderDraw draw = BeginOrder(uuid_key);
  const Fault fault = draw.fault;
  if (!SleepMs(draw.latency_ms)) {
    std::lock_guard<std::mutex> l(mu_);
    EndPendingLocked(uuid_key);
    return Outcome{{}, false, 0};
  }
  const double elapsed_ms = static_cast<double>(SteadyNs() - t0_ns) / 1e6;
  std::string reply;
  bool found = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    EndPendingLocked(uuid_key);
    auto it = positions_.find(ticket);
    found = it != positions_.end();
    if (found && fault != Fault::kReject) {
      const bool odd = fault == Fault::kOddReply;
      const bool place = fault != Fault::kNoTicket && (!odd || draw.odd_executed);
      ObjectWriter w(reply);
      w.Raw("uuid", uuid_json)
          .Str("status", "FILLED")
          .Int("ticket", place ? ticket : 0)
          .Num("close_price", it->second.open_price)
          .Str("execution_time", FormatIsoExtendedUtc(NowUnixUs()))
          .Num("latency_ms", elapsed_ms);
      w.Close();
      if (odd) {
        const Position closed = it->second;
        if (place) positions_.erase(it);
        return Outcome{OddReplyLocked(draw, uuid_json, uuid_key, "CLOSE", ticket, {}, reply,
                                      closed.symbol, closed.volume, closed.open_price),
                       true, 0};
      }
      if (place) {
        positions_.erase(it);
        JournalLocked(uuid_json, "CLOSE", ticket, {}, reply);
        executed_.fetch_add(1, std::memory_order_relaxed);
      } else {
        f_no_ticket_.fetch_add(1, std::memory_order_relaxed);
      }
      if (uuid_key != nullptr && opt_.order_status) RecordLocked(*uuid_key, reply);
    }
  }
  if (fault == Fault::kReject) {
    f_reject_.fetch_add(1, std::memory_order_relaxed);
    return Reject(uuid_json, uuid_key, "MT5_CLOSE_FAILED",
                  "order_send failed: retcode 10006 (injected)");
  }
  if (!found) {
    return Reject(uuid_json, uuid_key, "MT5_CLOSE_FAILED",
                  absl::StrCat("Position ", ticket, " not found"));
  }
  return Deliver(std::move(reply), fault, serial);
}

std::string BridgeSim::Impl::HandleAccount(const std::string& uuid_json) {
  double margin = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    // 100k contract at 1:100 leverage: good enough to make margin move with positions.
    for (const auto& [t, p] : positions_) margin += p.volume * 100000.0 * p.open_price / 100.0;
  }
  margin = std::round(margin * 100) / 100;
  const double equity = opt_.balance;  // positions never move off their open price
  std::string out;
  ObjectWriter w(out);
  w.Raw("uuid", uuid_json)
      .Str("status", "ok")
      .Num("balance", opt_.balance)
      .Num("equity", equity)
      .Num("margin", margin)
      .Num("free_margin", std::round((equity - margin) * 100) / 100)
      .Num("margin_level", margin > 0 ? std::round(equity / margin * 10000) / 100 : 0.0)
      .Str("currency", "USD")
      .Str("timestamp", FormatIsoExtendedUtc(NowUnixUs()));
  w.Close();
  return out;
}

std::string BridgeSim::Impl::HandlePositions(simdjson::dom::object obj,
                                             const std::string& uuid_json) {
  std::string_view filter;
  const bool filtered = GetString(obj, "symbol", &filter) && !filter.empty();
  std::string out;
  out.reserve(128);
  out += "{\"uuid\":";
  out += uuid_json;
  out += ",\"status\":\"ok\",\"positions\":[";
  {
    std::lock_guard<std::mutex> l(mu_);
    bool first = true;
    for (const auto& [t, p] : positions_) {
      if (filtered && p.symbol != filter) continue;
      if (!first) out += ',';
      first = false;
      ObjectWriter w(out);
      w.Int("ticket", p.ticket)
          .Str("symbol", p.symbol)
          .Str("type", p.type)
          .Num("volume", p.volume)
          .Num("open_price", p.open_price)
          .Num("current_price", p.open_price)
          .Num("profit", 0.0);
      w.Close();
    }
  }
  out += "],\"timestamp\":";
  AppendEscaped(out, FormatIsoExtendedUtc(NowUnixUs()));
  out += '}';
  return out;
}

std::string BridgeSim::Impl::HandleOrderStatus(const std::string& uuid_json,
                                               const std::string* uuid_key) {
  if (uuid_key == nullptr) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return ErrorReply(uuid_json, "error", "MISSING_UUID", "ORDER_STATUS needs a string uuid");
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = records_.find(*uuid_key);
    if (it != records_.end()) {
      if (it->second.pending > 0) {
        std::string out;
        ObjectWriter w(out);
        w.Raw("uuid", uuid_json).Str("status", "PENDING");
        w.Close();
        return out;
      }
      if (!it->second.reply.empty()) return it->second.reply;
    }
  }
  // "Not found" tells ordergate the order never executed (protocol.md, Resolving UNKNOWN): it must
  // not be said of an executed order merely forgotten by the capacity bound. The journal has them
  // all; it is read only on such a miss.
  if (evicted_.load(std::memory_order_relaxed) && !opt_.journal_path.empty()) {
    if (std::optional<std::string> reply = FindInJournal(uuid_json)) {
      std::lock_guard<std::mutex> l(mu_);
      if (!records_.contains(*uuid_key)) RecordLocked(*uuid_key, *reply);
      return *reply;
    }
  }
  errors_.fetch_add(1, std::memory_order_relaxed);
  return ErrorReply(uuid_json, "error", "NOT_FOUND", "No order with this uuid seen by the bridge");
}

std::optional<std::string> BridgeSim::Impl::FindInJournal(const std::string& uuid_json) {
  std::ifstream in(opt_.journal_path);
  if (!in) return std::nullopt;
  // JournalLocked writes the uuid first, escaped as uuid_json is.
  const std::string prefix = absl::StrCat("{\"uuid\":", uuid_json, ",");
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: a line still being written
    if (line.compare(0, prefix.size(), prefix) == 0) found = line;
  }
  if (found.empty()) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  int64_t ticket = 0;
  if (parser.parse(found).get(root) != simdjson::SUCCESS ||
      root.get_object().get(obj) != simdjson::SUCCESS ||
      obj["ticket"].get_int64().get(ticket) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return JournalReplyText(found, obj, ticket);
}

BridgeSim::Impl::Outcome BridgeSim::Impl::Handle(const zmq::message_t& body, Scratch& s,
                                                 bool serial) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  // The moment of dequeue: the signature TTL is judged against it.
  const int64_t t0_us = NowUnixUs();
  const int64_t t0_ns = SteadyNs();
  const size_t len = body.size();
  if (s.buf.size() < len + simdjson::SIMDJSON_PADDING)
    s.buf.resize(len + simdjson::SIMDJSON_PADDING);
  if (len > 0) std::memcpy(s.buf.data(), body.data(), len);

  simdjson::dom::element root;
  simdjson::dom::object obj;
  const std::string kNull = "null";
  if (s.parser.parse(s.buf.data(), len, false).get(root) != simdjson::SUCCESS ||
      root.get_object().get(obj) != simdjson::SUCCESS) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return Outcome{ErrorReply(kNull, "error", "INVALID_JSON", "Request is not a JSON object"), true,
                   0};
  }

  std::string uuid_json = kNull;
  std::string uuid_storage;
  const std::string* uuid_key = nullptr;
  simdjson::dom::element uel;
  if (obj["uuid"].get(uel) == simdjson::SUCCESS) {
    std::string_view sv;
    if (uel.get_string().get(sv) == simdjson::SUCCESS) {
      uuid_json.clear();
      AppendEscaped(uuid_json, sv);
      uuid_storage.assign(sv);
      uuid_key = &uuid_storage;
    } else {
      uuid_json = simdjson::minify(uel);  // echo a non-string uuid as it came
    }
  }

  std::string_view action_in;
  if (!GetString(obj, "action", &action_in) || action_in.empty()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return Outcome{ErrorReply(uuid_json, "error", "MISSING_ACTION", "Missing action"), true, 0};
  }
  const std::string action = UpperAscii(action_in);
  spdlog::debug("bridge-sim: request {} uuid={}", action, uuid_json);

  if (action == "OPEN") return HandleOpen(obj, uuid_json, uuid_key, t0_us, t0_ns, serial);
  if (action == "CLOSE") return HandleClose(obj, uuid_json, uuid_key, t0_ns, serial);
  if (action == "PING") {
    double latency_ms = 0;
    std::string_view ts;
    if (GetString(obj, "timestamp", &ts)) {
      if (auto t = ParseIsoAnyUtc(ts))
        latency_ms = std::max<double>(0, static_cast<double>(t0_us - *t) / 1000.0);
    }
    std::string out;
    ObjectWriter w(out);
    w.Raw("uuid", uuid_json)
        .Str("status", "ok")
        .Str("server_time", FormatIsoExtendedUtc(t0_us))
        .Num("latency_ms", latency_ms);
    w.Close();
    return Outcome{std::move(out), true, 0};
  }
  if (action == "GET_ACCOUNT") return Outcome{HandleAccount(uuid_json), true, 0};
  if (action == "GET_POSITIONS") return Outcome{HandlePositions(obj, uuid_json), true, 0};
  if (action == "ORDER_STATUS" && opt_.order_status) {
    return Outcome{HandleOrderStatus(uuid_json, uuid_key), true, 0};
  }
  errors_.fetch_add(1, std::memory_order_relaxed);
  return Outcome{
      ErrorReply(uuid_json, "error", "UNKNOWN_ACTION", absl::StrCat("Unknown action: ", action)),
      true, 0};
}

// Receives one multipart message without blocking; false if none is waiting.
bool BridgeSim::Impl::RecvFrames(zmq::socket_t& sock, std::vector<zmq::message_t>* frames) {
  frames->clear();
  zmq::message_t msg;
  if (!sock.recv(msg, zmq::recv_flags::dontwait)) return false;
  bool more = msg.more();
  frames->push_back(std::move(msg));
  while (more) {
    zmq::message_t part;
    // The rest of a multipart message is already here: recv cannot block.
    (void)sock.recv(part, zmq::recv_flags::none);
    more = part.more();
    frames->push_back(std::move(part));
  }
  return true;
}

void BridgeSim::Impl::SendReply(std::vector<zmq::message_t>& frames, size_t envelope_end,
                                const std::string& reply) {
  // Mirror the envelope exactly: [id][empty] for REQ/DEALER peers, [id] alone when they sent none.
  for (size_t i = 0; i < envelope_end; ++i) {
    (void)router_->send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  }
  (void)router_->send(zmq::buffer(reply), zmq::send_flags::dontwait);
}

void BridgeSim::Impl::Run() {
  if (!router_) return;
  try {
    if (opt_.workers <= 1) {
      RunSerial();
    } else {
      RunWorkers();
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != ETERM) spdlog::error("bridge-sim: zmq error: {}", e.what());
  }
  router_.reset();
}

void BridgeSim::Impl::RunSerial() {
  Scratch scratch;
  std::vector<zmq::message_t> frames;
  zmq::pollitem_t items[] = {{router_->handle(), 0, ZMQ_POLLIN, 0}};
  while (!stop_.load(std::memory_order_relaxed)) {
    int rc = 0;
    try {
      rc = zmq::poll(items, 1, std::chrono::milliseconds(50));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    if (rc <= 0) continue;
    // One at a time, in arrival order: later requests wait in the socket's queue, like on a REP.
    for (int i = 0; i < 4096 && !stop_.load(std::memory_order_relaxed); ++i) {
      if (!RecvFrames(*router_, &frames)) break;
      if (frames.size() < 2) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      Outcome o = Handle(frames.back(), scratch, /*serial=*/true);
      if (o.send) SendReply(frames, frames.size() - 1, o.reply);
    }
  }
}

void BridgeSim::Impl::WorkerLoop(const std::string& inproc) {
  Scratch scratch;
  zmq::socket_t push(*ctx_, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.set(zmq::sockopt::sndhwm, 0);  // never drop or block a reply on the way to the I/O thread
  push.connect(inproc);
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> l(jobs_mu_);
      jobs_cv_.wait(l, [this] { return stop_.load() || !jobs_.empty(); });
      if (stop_.load()) break;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Outcome o = Handle(job.frames.back(), scratch, /*serial=*/false);
    if (!o.send) continue;
    const int64_t due_ns = o.delay_ms > 0 ? SteadyNs() + o.delay_ms * 1000000 : 0;
    // [due_ns][envelope...][reply]: the I/O thread owns the ROUTER, so it does the sending.
    (void)push.send(zmq::buffer(&due_ns, sizeof due_ns), zmq::send_flags::sndmore);
    for (size_t i = 0; i + 1 < job.frames.size(); ++i) {
      (void)push.send(job.frames[i], zmq::send_flags::sndmore);
    }
    (void)push.send(zmq::buffer(o.reply), zmq::send_flags::none);
  }
}

void BridgeSim::Impl::RunWorkers() {
  const std::string inproc =
      absl::StrCat("inproc://ordergate-bridge-sim-replies-", reinterpret_cast<uintptr_t>(this));
  zmq::socket_t pull(*ctx_, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  pull.set(zmq::sockopt::rcvhwm, 0);
  pull.bind(inproc);
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(opt_.workers));
  for (int i = 0; i < opt_.workers; ++i)
    workers.emplace_back([this, &inproc] { WorkerLoop(inproc); });

  std::multimap<int64_t, std::vector<zmq::message_t>> delayed;  // late-fault replies by due time
  std::vector<zmq::message_t> frames;
  zmq::pollitem_t items[] = {{router_->handle(), 0, ZMQ_POLLIN, 0},
                             {pull.handle(), 0, ZMQ_POLLIN, 0}};
  auto forward = [this](std::vector<zmq::message_t>& f) {
    // f = [due][envelope...][reply]
    for (size_t i = 1; i < f.size(); ++i) {
      (void)router_->send(f[i],
                          (i + 1 < f.size() ? zmq::send_flags::sndmore : zmq::send_flags::none) |
                              zmq::send_flags::dontwait);
    }
  };
  try {
    while (!stop_.load(std::memory_order_relaxed)) {
      int64_t timeout_ms = 50;
      if (!delayed.empty()) {
        const int64_t wait_ns = delayed.begin()->first - SteadyNs();
        timeout_ms = std::clamp<int64_t>((wait_ns + 999999) / 1000000, 0, 50);
      }
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(timeout_ms));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
      for (int i = 0; i < 4096 && RecvFrames(*router_, &frames); ++i) {
        if (frames.size() < 2) {
          malformed_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        {
          std::lock_guard<std::mutex> l(jobs_mu_);
          jobs_.push_back(Job{std::move(frames)});
        }
        jobs_cv_.notify_one();
        frames = std::vector<zmq::message_t>();
      }
      for (int i = 0; i < 4096 && RecvFrames(pull, &frames); ++i) {
        int64_t due = 0;
        if (frames.size() < 3 || frames[0].size() != sizeof due) continue;
        std::memcpy(&due, frames[0].data(), sizeof due);
        if (due == 0) {
          forward(frames);
        } else {
          delayed.emplace(due, std::move(frames));
          frames = std::vector<zmq::message_t>();
        }
      }
      const int64_t now = SteadyNs();
      while (!delayed.empty() && delayed.begin()->first <= now) {
        forward(delayed.begin()->second);
        delayed.erase(delayed.begin());
      }
    }
  } catch (...) {
    Stop();
    for (auto& t : workers) t.join();
    throw;
  }
  Stop();  // wakes the workers
  for (auto& t : workers) t.join();
}

// ---- BridgeSim ----

BridgeSim::BridgeSim(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  endpoint_ = impl_->endpoint();
  seed_ = impl_->seed();
}

BridgeSim::~BridgeSim() = default;

absl::StatusOr<std::unique_ptr<BridgeSim>> BridgeSim::Create(const BridgeSimOptions& options,
                                                             zmq::context_t* context) {
  auto impl = std::make_unique<Impl>(options, context);
  if (absl::Status st = impl->Init(); !st.ok()) return st;
  return std::unique_ptr<BridgeSim>(new BridgeSim(std::move(impl)));
}

void BridgeSim::Run() { impl_->Run(); }
void BridgeSim::Stop() { impl_->Stop(); }
BridgeSimStats BridgeSim::stats() const { return impl_->stats(); }

}  // namespace ordergate::transport::sim
