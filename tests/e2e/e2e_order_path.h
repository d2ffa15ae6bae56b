// Two ways a strategy reaches ordergate, behind one interface, so that one behavioural suite
// (e2e_behaviour_test.cc) runs over both:
//   - DaemonPath: a real `ordergated` process and a DEALER client speaking the wire protocol
//     (docs/protocol.md, section 2), its replies mapped onto the public ordergate::Outcome. A
//     PENDING reply is asked again with the same uuid until it is final, as a correct client does.
//   - EmbeddedPath: the public ordergate::Gateway (include/ordergate/gateway.h) opened in the
//     test process, and for the crash case the `embedded_strategy` example as its own process.
// Both run against a real `ordergate-bridge-sim` started by the test through e2e::World, whose
// journal is the truth about what executed. The data directory is World::data_dir() for both.
//
// Threading: Submit() and Lookup() may be called from several threads at once (each call uses its
// own socket, or the Gateway, which is thread-safe); Start(), Restart() and
// CrashMidBurstAndRestart() from the test's thread only (they use Catch2 assertions).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "e2e_util.h"
#include "ordergate/gateway.h"

namespace e2e {

// The gateway's timing against the bridge; the simulator is started with the same TTL.
struct Timing {
  int64_t bridge_timeout_ms;
  int64_t signature_ttl_ms;
  int64_t exec_margin_ms;
  int64_t unknown_query_interval_ms;
};
// Short, aligned timeouts (400 > 200 + 50) that keep the suite fast.
inline constexpr Timing kShortTiming{400, 200, 50, 100};
// Both front doors' defaults (what `embedded_strategy` runs with: it sets no timing).
inline constexpr Timing kDefaultTiming{6000, 5000, 500, 5000};

// An outcome that needs nothing more: FILLED, UNKNOWN, or REJECTED other than the "not now"
// refusals (BRIDGE_DOWN, GATEWAY_BUSY), after which the same uuid may be submitted again.
bool IsFinal(const ordergate::Outcome& out);
// "FILLED 17 dup" style, for messages.
std::string Describe(const ordergate::Outcome& out);
// An OPEN EURUSD BUY of `volume`.
ordergate::Order Buy(const std::string& uuid, double volume = 0.1);

// What the crash case saw: the outcomes of the run that was killed (those that reached the
// test) and of the run after the restart on the same data directory.
struct CrashRuns {
  std::vector<ordergate::Outcome> first;
  std::vector<ordergate::Outcome> second;
  size_t executed_at_kill = 0;    // journal entries just before the kill -9
  bool killed_mid_burst = false;  // the strategy was running with orders still to execute
  int second_exit = -1;           // 0: every uuid has a final outcome in the second run
  std::string notes;              // stderr of the strategy processes, for failure messages
};

class OrderPath {
 public:
  virtual ~OrderPath() = default;

  // Opens the gateway on the world's data directory against `bridge`; with `wait_up`, REQUIREs
  // the bridge link up.
  virtual void Start(const std::string& bridge, bool wait_up, const Timing& timing) = 0;
  virtual bool WaitBridgeUp(Ms timeout) = 0;
  // Submits `order` and blocks until its outcome (never PENDING).
  virtual ordergate::Outcome Submit(const ordergate::Order& order) = 0;
  // What the gateway has recorded for `uuid`: nullopt when nothing (kInFlight while reserved).
  // A failed lookup is a kRejected outcome with error_code "LOOKUP_FAILED".
  virtual std::optional<ordergate::Outcome> Lookup(const std::string& uuid) = 0;
  // A clean stop and a start on the same data directory and bridge; REQUIREs the link up.
  virtual void Restart() = 0;
  // Starts the strategy's side (default timing) against the running simulator, has it submit
  // `prefix`-0 .. `prefix`-(n-1) from two threads, each uuid twice, kills the strategy process
  // with SIGKILL once the simulator has executed `kill_at` orders, restarts it on the same data
  // directory and submits every uuid again until each has a final outcome.
  virtual CrashRuns CrashMidBurstAndRestart(const std::string& prefix, int n, size_t kill_at) = 0;
  // After CrashMidBurstAndRestart(): a gateway on that data directory answering Lookup() (the
  // daemon: the restarted ordergated; embedded: the strategy has exited, so a Gateway is opened
  // here, default timing), which goes on resolving the UNKNOWN orders.
  virtual void OpenAfterCrash() = 0;
};

class DaemonPath : public OrderPath {
 public:
  explicit DaemonPath(World& w) : w_(w) {}
  void Start(const std::string& bridge, bool wait_up, const Timing& timing) override;
  bool WaitBridgeUp(Ms timeout) override;
  ordergate::Outcome Submit(const ordergate::Order& order) override;
  std::optional<ordergate::Outcome> Lookup(const std::string& uuid) override;
  void Restart() override;
  CrashRuns CrashMidBurstAndRestart(const std::string& prefix, int n, size_t kill_at) override;
  void OpenAfterCrash() override;

 private:
  ordergate::Outcome SubmitOn(DealerClient& d, const ordergate::Order& order);

  World& w_;
  std::string bridge_;
  std::vector<std::string> args_;
};

class EmbeddedPath : public OrderPath {
 public:
  explicit EmbeddedPath(World& w) : w_(w) {}
  ~EmbeddedPath() override;
  void Start(const std::string& bridge, bool wait_up, const Timing& timing) override;
  bool WaitBridgeUp(Ms timeout) override;
  ordergate::Outcome Submit(const ordergate::Order& order) override;
  std::optional<ordergate::Outcome> Lookup(const std::string& uuid) override;
  void Restart() override;
  CrashRuns CrashMidBurstAndRestart(const std::string& prefix, int n, size_t kill_at) override;
  void OpenAfterCrash() override;

 private:
  void Open();

  World& w_;
  ordergate::GatewayOptions options_;
  std::unique_ptr<ordergate::Gateway> gw_;
};

}  // namespace e2e
