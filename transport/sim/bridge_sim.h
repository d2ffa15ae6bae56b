// BridgeSim: a stand-in for the MT5-CRS Windows bridge (protocol.md section 1), for tests and
// benches.
//
//   BridgeSimOptions opts;
//   opts.bind = "tcp://127.0.0.1:*";
//   opts.latency = *LatencyModel::Parse("lognormal:2:20");
//   opts.journal_path = "/tmp/sim.journal";
//   auto sim = BridgeSim::Create(opts);          // binds, loads the journal; throws nothing
//   if (!sim.ok()) { ... }
//   std::thread t([&] { (*sim)->Run(); });       // serves until Stop()
//   ... connect a DEALER to (*sim)->endpoint(), send [empty][json] ...
//   (*sim)->Stop(); t.join();
//
// Faithful where it matters to ordergate: a ROUTER that behaves like the bridge's REP (replies
// mirror the request envelope, with or without the empty delimiter), strictly one request at a time
// in arrival order unless `workers` > 1, the risk_signature TTL checked when a request is dequeued
// (so an OPEN that waits in the queue past its TTL is rejected, never executed), no deduplication
// (a uuid sent twice executes twice), and the FILLED-with-ticket-0 quirk. Additions the real bridge
// lacks: ORDER_STATUS, an execution journal that survives a crash of the simulator, and fault
// injection by probability (including the odd replies and the stalled MT5 call of issue 9).
#ifndef ORDERGATE_TRANSPORT_SIM_BRIDGE_SIM_H_
#define ORDERGATE_TRANSPORT_SIM_BRIDGE_SIM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace zmq {
class context_t;
}

namespace ordergate::transport::sim {

// How long the simulated MT5 takes to execute an order (OPEN/CLOSE), drawn per order.
struct LatencyModel {
  enum class Kind : uint8_t { kFixed, kUniform, kLognormal };
  Kind kind = Kind::kFixed;
  double a_ms = 0;  // fixed: the latency; uniform: min; lognormal: p50
  double b_ms = 0;  // uniform: max; lognormal: p99

  // Parses "fixed:MS", "uniform:MIN_MS:MAX_MS" or "lognormal:P50_MS:P99_MS" (0 <= MIN <= MAX,
  // 0 < P50 <= P99). Non-blocking; InvalidArgument names the problem.
  static absl::StatusOr<LatencyModel> Parse(absl::string_view spec);
  std::string ToString() const;
};

// The replies of a bridge that settle nothing (issue 9, finding 2): each one leaves the order's
// fate unknown to whoever reads it. Bit flags, for FaultOptions::odd_reply_kinds.
enum OddReplyKind : uint32_t {
  kOddServerError = 1u << 0,       // status "error", error_code SERVER_ERROR
  kOddNoStatus = 1u << 1,          // an object with uuid and ticket but no "status"
  kOddStatusOk = 1u << 2,          // status "ok" (what PING and relays answer)
  kOddStatusPending = 1u << 3,     // status "PENDING" (MT5 placed it, not filled yet)
  kOddNegativeTicket = 1u << 4,    // FILLED with ticket -5
  kOddFractionalTicket = 1u << 5,  // FILLED with ticket 12.5
};
constexpr uint32_t kAllOddReplies = (1u << 6) - 1;
// Parses a comma-separated list of server_error, no_status, ok, pending, negative_ticket,
// fractional_ticket, or "all", into OddReplyKind bits. Non-blocking; InvalidArgument names the
// bad word.
absl::StatusOr<uint32_t> ParseOddReplyKinds(absl::string_view list);

// Probabilities in [0, 1] per order request that passed validation; their sum must not exceed 1
// (one uniform draw picks at most one fault per order).
struct FaultOptions {
  double no_reply = 0;  // execute, journal, never reply
  double late = 0;      // execute, reply late_ms later
  int64_t late_ms = 1000;
  double reject = 0;     // REJECTED MT5_ORDER_FAILED (MT5_CLOSE_FAILED for CLOSE), not executed
  double crash = 0;      // execute, journal, then _exit(3) without replying
  double no_ticket = 0;  // FILLED with ticket 0, not executed
  // One of the odd replies (drawn uniformly from odd_reply_kinds) instead of the real one. Whether
  // the order executed first is drawn too (odd_reply_executed): if it did, it is journalled and
  // ORDER_STATUS answers its real FILLED reply; if not, nothing is placed and ORDER_STATUS answers
  // NOT_FOUND (or whatever an earlier execution of the uuid left). A CLOSE of an unknown ticket is
  // REJECTED as without the fault.
  double odd_reply = 0;
  uint32_t odd_reply_kinds = kAllOddReplies;
  double odd_reply_executed = 0.5;
  // The MT5 call of this order takes stall_ms instead of its drawn latency, then executes and
  // replies normally. With workers == 1 the whole bridge waits behind it, as the real (serial) one
  // does: later requests queue in the socket, up to socket_hwm of them (see socket_hwm).
  double stall = 0;
  int64_t stall_ms = 4000;
};

struct BridgeSimOptions {
  std::string bind = "tcp://127.0.0.1:5556";
  int workers = 1;                // 1: strictly serial like the real bridge; N > 1: N at a time
  bool require_signature = true;  // OPEN needs a valid, unexpired risk_signature
  int64_t signature_ttl_ms = 5000;
  bool order_status = true;      // false: ORDER_STATUS gets UNKNOWN_ACTION like the real bridge
  std::string journal_path;      // empty: no journal
  LatencyModel latency;          // default fixed:0
  std::optional<uint64_t> seed;  // unset: random (see BridgeSim::seed())
  FaultOptions faults;
  bool mt5_disconnected = false;  // every OPEN/CLOSE gets REJECTED MT5_NOT_CONNECTED
  double balance = 10000.0;
  double quote = 1.1000;  // fill price of an OPEN without a price (positions close at open)
  // uuids ORDER_STATUS keeps in memory (oldest forgotten). A forgotten uuid that executed is still
  // found in the journal (read on such a miss), so "NOT_FOUND" always means "never executed" when
  // there is a journal; without one, a forgotten execution answers NOT_FOUND.
  size_t order_status_capacity = 1000000;
  // SNDHWM and RCVHWM of the bound socket (0: unlimited). With workers == 1 requests wait in the
  // socket's receive queue while one is handled, as on the real bridge's REP; that REP keeps
  // libzmq's default of 1000. Past the RCVHWM, libzmq stops reading the connection, so ZMTP
  // heartbeats from the peer go unanswered too: set 1000 to reproduce a backlog of the real bridge.
  // The default is high so benchmarks never hit it. (With workers > 1 the I/O thread moves
  // requests to its own unbounded queue, so the bound does not apply.)
  int socket_hwm = 100000;
};

struct BridgeSimStats {
  uint64_t requests = 0;
  uint64_t executed = 0;  // OPEN/CLOSE that placed something and got a ticket
  uint64_t rejected = 0;  // status REJECTED replies (incl. injected ones)
  uint64_t errors = 0;    // status "error" replies
  uint64_t expired = 0;   // of rejected: signature expired
  uint64_t fault_no_reply = 0;
  uint64_t fault_late = 0;
  uint64_t fault_reject = 0;
  uint64_t fault_crash = 0;
  uint64_t fault_no_ticket = 0;
  uint64_t fault_odd_reply = 0;
  uint64_t fault_odd_executed = 0;  // of fault_odd_reply: executed (and journalled) first
  uint64_t fault_stall = 0;
  uint64_t malformed_frames = 0;  // multipart messages with no body frame, dropped
  std::string ToString() const;
};

class BridgeSim {
 public:
  // Validates `options`, loads the journal (rebuilding ORDER_STATUS records, positions and the
  // ticket counter) and binds. Blocking only for the bind and the journal read. With `context` null
  // the simulator owns its context; otherwise `context` (needed for inproc:// endpoints shared with
  // a test) must outlive the BridgeSim.
  static absl::StatusOr<std::unique_ptr<BridgeSim>> Create(const BridgeSimOptions& options,
                                                           zmq::context_t* context = nullptr);
  // Closes the socket (and the owned context). Only after Run() has returned, or if it never ran.
  ~BridgeSim();
  BridgeSim(const BridgeSim&) = delete;
  BridgeSim& operator=(const BridgeSim&) = delete;

  // The bound endpoint with the actual port (ZMQ_LAST_ENDPOINT). Thread-safe (immutable).
  const std::string& endpoint() const { return endpoint_; }
  // The RNG seed in use, given or drawn at Create(). Thread-safe (immutable).
  uint64_t seed() const { return seed_; }

  // Serves requests until Stop(). Blocks; call once, from one thread. Orders still waiting for
  // their simulated latency when Stop() comes are abandoned (not executed, no reply), as if the
  // bridge died before MT5 saw them; queued requests are dropped. Sockets are closed before it
  // returns.
  void Run();

  // Asks Run() to return (within ~50 ms, plus the handler in progress). Thread-safe, non-blocking;
  // not async-signal-safe (use a sigwait thread).
  void Stop();

  // Counters so far. Thread-safe; non-blocking.
  BridgeSimStats stats() const;

  class Impl;

 private:
  explicit BridgeSim(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string endpoint_;
  uint64_t seed_ = 0;
};

// Helpers exposed for the tests and for clients that sign orders for the simulator.

// "YYYYMMDDTHHMMSS.ffffffZ" (ISO 8601 basic, UTC) for `unix_us` microseconds since the epoch.
std::string FormatIsoBasicUtc(int64_t unix_us);
// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (ISO 8601 extended, UTC), the form of every time field in replies.
std::string FormatIsoExtendedUtc(int64_t unix_us);
// Parses the basic form, with or without a 1-6 digit fraction, 'Z' required. nullopt when
// malformed.
std::optional<int64_t> ParseIsoBasicUtc(absl::string_view s);

}  // namespace ordergate::transport::sim

#endif  // ORDERGATE_TRANSPORT_SIM_BRIDGE_SIM_H_
