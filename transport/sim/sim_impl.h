// Internal to the bridge simulator: BridgeSim::Impl and the helpers its parts share. Not part of
// the simulator's public API (bridge_sim.h). The implementation is split by idea:
//   bridge_sim.cc   start-up (options, bind), counters, the serving loops (serial and workers) and
//                   the public BridgeSim
//   sim_orders.cc   one request: validation, the order's draws (fault, latency), OPEN/CLOSE, the
//                   queries, the faults' replies
//   sim_journal.cc  the execution journal (append, reload, lookup) and the ORDER_STATUS records
//   sim_time.cc     ISO 8601 times and the latency models
// Thread-safety is Impl's, as documented on its members: mu_ guards the order state.
#ifndef ORDERGATE_TRANSPORT_SIM_SIM_IMPL_H_
#define ORDERGATE_TRANSPORT_SIM_SIM_IMPL_H_

#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "transport/sim/bridge_sim.h"

namespace ordergate::transport::sim::internal {

inline constexpr int64_t kFirstTicket = 100000001;
// z-score of the 99th percentile: sigma of a lognormal given its p50 and p99.
inline constexpr double kZ99 = 2.3263;

inline int64_t NowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// sim_time.cc: an ISO 8601 UTC time in the basic form (ParseIsoBasicUtc) or the extended one
// (YYYY-MM-DDTHH:MM:SS[.fraction][Z|+00:00]); nullopt when malformed.
std::optional<int64_t> ParseIsoAnyUtc(std::string_view s);

// sim_orders.cc: request reading.
std::string UpperAscii(std::string_view s);
bool IsOrderType(std::string_view t);
// A JSON number of any representation as double.
bool GetNumber(simdjson::dom::element el, double* out);
bool GetString(simdjson::dom::object obj, std::string_view key, std::string_view* out);

// sim_journal.cc: write(2) of all of `data`, retried on EINTR; false on an error (errno set).
bool WriteAll(int fd, std::string_view data);
// What ORDER_STATUS answers for an executed order, from its journal line: the writer puts
// "reply" last, so its raw text is the exact bytes of the reply once given; a line without it
// (older writers) gets a minimal FILLED with the ticket.
std::string JournalReplyText(const std::string& line, simdjson::dom::object obj, int64_t ticket);

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

}  // namespace ordergate::transport::sim::internal

namespace ordergate::transport::sim {

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
  internal::OrderDraw BeginOrder(const std::string* uuid_key);
  // The odd reply of `draw` for an order that reached MT5. If the draw says it executed, its real
  // FILLED reply `real_reply` is journalled and kept for ORDER_STATUS (the caller has placed the
  // position); otherwise nothing is recorded. Requires mu_.
  std::string OddReplyLocked(const internal::OrderDraw& draw, const std::string& uuid_json,
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
  Outcome Deliver(std::string reply, internal::Fault fault, bool serial);

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
  int64_t next_ticket_ = internal::kFirstTicket;
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

}  // namespace ordergate::transport::sim

#endif  // ORDERGATE_TRANSPORT_SIM_SIM_IMPL_H_
