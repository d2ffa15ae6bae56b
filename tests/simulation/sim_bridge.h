// The simulation's far side: the MT5 bridge (a serial REP that executes, refuses, answers oddly,
// stalls, crashes and keeps an execution journal, as ordergate-bridge-sim does), the network
// between it and the gateway (delays that reorder, lost requests and replies, duplicated replies,
// dropped connections), and the gateway's end of it, SimBridgePort: a transport::BridgePort that
// correlates with the real BridgeCorrelator, so the pipeline under test meets the same reply
// pairing, deadlines and late replies as over ZeroMQ.
//
//   SimNet net(&core, cfg);            // owns the bridge
//   auto port = std::make_unique<SimBridgePort>(&net, late_reply_window_ns);  // attaches; connects
//   net.bridge().journal               // uuid -> executions, for the checker
//
// Single-threaded, driven by Core's events. `wake` (SimNet) is called whenever something arrives
// for the gateway, so the world can give the gateway a turn.
#ifndef ORDERGATE_TESTS_SIMULATION_SIM_BRIDGE_H_
#define ORDERGATE_TESTS_SIMULATION_SIM_BRIDGE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "history_check.h"
#include "sim_core.h"
#include "transport/bridge_correlator.h"
#include "transport/bridge_port.h"

namespace ordergate::sim {

struct NetFaults {  // per message or per request; all zero when faults are off
  double drop_request = 0.003;
  double drop_reply = 0.005;
  double duplicate_reply = 0.005;
  double slow = 0.01;  // a delay of up to 60 ms instead of < 0.5 ms: reorders messages
  double bridge_reject = 0.04;
  double bridge_no_reply = 0.005;  // executed (or not) and the reply never leaves
  double bridge_odd_reply = 0.01;  // a reply that settles nothing; executed or not
  double bridge_stall = 0.004;     // 1.6-4 s of service: the reply comes after the deadline
  double bridge_crash = 0.001;     // dies while serving (executed or not); back after 0.2-2 s
};

using Execution = check::Execution;

class SimBridgePort;

class SimNet {
 public:
  SimNet(Core* core, int64_t signature_ttl_ms, std::function<void()> wake);

  bool faults_on = true;
  NetFaults faults;

  // A request leaves the gateway on connection `epoch`.
  void ToBridge(uint64_t epoch, std::string body);
  // The connection drops (a partition): both ends see it; the port reconnects after 50-1000 ms.
  void Partition();

  void Attach(SimBridgePort* port);  // a gateway incarnation's port; it connects soon
  void Detach(SimBridgePort* port);  // its process died: its connection drops

  // The broker's side, read by the checker: every execution per uuid (at most one each is the
  // promise), and the bridge's counters.
  std::map<std::string, std::vector<Execution>> journal;
  struct Counters {
    uint64_t requests = 0, executed = 0, rejected = 0, expired = 0, odd = 0, no_reply = 0,
             stalls = 0, crashes = 0, queries = 0, dropped_requests = 0, dropped_replies = 0,
             duplicated_replies = 0, partitions = 0, connections = 0;
  } counters;
  bool bridge_up() const { return bridge_up_; }

 private:
  struct Queued {
    uint64_t epoch;
    std::string body;
  };
  void ConnectSoon(int64_t delay_us);
  void Disconnect();  // the current connection ends at both sides
  void ServeNext();
  void Finish(const Queued& q);
  std::string Handle(const std::string& body, int64_t dequeued_unix_us, bool* reply_lost,
                     bool* crash);
  void ToGateway(uint64_t epoch, std::string reply);
  int64_t NetDelayUs();

  Core* const core_;
  const int64_t ttl_us_;
  std::function<void()> wake_;
  SimBridgePort* port_ = nullptr;
  bool bridge_up_ = true;
  uint64_t epoch_ = 0;  // the current connection; 0: none
  uint64_t next_epoch_ = 1;
  bool busy_ = false;
  uint64_t life_ = 0;  // bumped by a crash: a service in progress then never completes
  std::deque<Queued> queue_;
  std::map<std::string, std::string> records_;  // uuid -> reply ORDER_STATUS gives
  int64_t next_ticket_ = 100000001;
};

class SimBridgePort final : public transport::BridgePort {
 public:
  SimBridgePort(SimNet* net, const gateway::Clock* clock, int64_t late_reply_window_ns);
  ~SimBridgePort() override;

  bool IsUp() const override { return up_; }
  absl::Status Send(uint64_t token, absl::string_view uuid, absl::string_view body,
                    int64_t deadline_ns) override;
  void Forget(uint64_t token) override { correlator_.Forget(token); }
  bool IsCorrelated(uint64_t token) const override { return correlator_.IsCorrelated(token); }
  void Poll(int64_t now_ns, std::vector<transport::BridgeEvent>* out) override;
  int64_t NextDeadlineNs() const override { return correlator_.NextDeadlineNs(); }
  size_t outstanding() const override { return correlator_.outstanding(); }
  size_t unanswered() const override { return correlator_.unanswered(); }
  transport::BridgeLinkStats stats() const override { return correlator_.stats(); }

  // SimNet's calls.
  void OnConnected(uint64_t epoch) {
    up_ = true;
    epoch_ = epoch;
  }
  void OnDisconnected();
  void OnReply(uint64_t epoch, std::string body);
  uint64_t epoch() const { return epoch_; }

 private:
  SimNet* const net_;
  const gateway::Clock* const clock_;
  transport::BridgeCorrelator correlator_;
  bool up_ = false;
  uint64_t epoch_ = 0;
  std::vector<std::string> arrived_;  // replies not yet polled, in arrival order
};

}  // namespace ordergate::sim

#endif  // ORDERGATE_TESTS_SIMULATION_SIM_BRIDGE_H_
