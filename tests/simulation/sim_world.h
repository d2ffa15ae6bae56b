// The simulated world of one run (simulation.h): the gateway incarnations and their turns, the
// faults, and the clients, all driven by one Core. Private to tests/simulation: sim_world.cc has
// the gateway's side and the faults, sim_clients.cc the clients and what they record.
// Owns: the disk (outlives every gateway), the network and bridge, the current gateway, every
// client's state and the history the checker reads. One thread.
#ifndef ORDERGATE_TESTS_SIMULATION_SIM_WORLD_H_
#define ORDERGATE_TESTS_SIMULATION_SIM_WORLD_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/gateway.h"
#include "history_check.h"
#include "sim_bridge.h"
#include "sim_core.h"
#include "sim_front.h"
#include "sim_store.h"
#include "simulation.h"

namespace ordergate::sim {

using check::CheckCounts;
using check::FinalRecord;
using check::OrderHistory;
using check::SeenReply;

// The gateway's settings in the simulation: the nemesis's short timeouts, aligned as
// ValidateConfig demands.
gateway::GatewayConfig SimGatewayConfig();

class World final : public gateway::EmbeddedSink {
 public:
  explicit World(const SimOptions& opt);
  SimResult Run();

  // EmbeddedSink: called inside Gateway::Turn(); records and schedules only.
  void Deliver(uint64_t id, absl::string_view reply_object, bool duplicate, bool recorded,
               int64_t gateway_us) override;
  void Resolved(absl::string_view uuid, absl::string_view reply_object) override;

 private:
  struct Client {
    int id = 0;
    bool wire = false;  // speaks the wire through the front end; else the in-process door
    // A CURVE client's name (wire clients only; "" is the global scope). Two named clients use
    // the same uuids: their orders are distinct (transport/order_scope.h). The world names an
    // order "identity/uuid" then (its label), and the raw uuid travels in the body.
    std::string identity;
    uint64_t next_n = 0;
    std::vector<std::string> window;  // uuids in progress
    std::vector<std::string> done;    // the last uuids it saw settle, re-asked now and then
  };
  struct Submission {
    int client;
    std::string uuid;
    char kind;  // 'o' own body, 'c' conflicting body, 'q' ORDER_STATUS, 'r' final resend, 'l'
    bool wire;
    uint64_t incarnation;  // the gateway it went to; 0 once lost with it
  };
  struct Progress {  // a client's view of one of its uuids
    int tries = 0;
    bool recorded = false;  // it has a record (so a conflicting body is a conflict)
    bool done = false;
  };

  // sim_world.cc
  void StartGateway();
  void CrashGateway();
  void Wake();
  void DoTurn(uint64_t incarnation);
  void ArmTimer();
  void ScheduleFaults();
  void Heal();
  std::map<std::string, FinalRecord> Finals() const;

  // sim_clients.cc
  void ClientAct(int c);
  void Submit(int c, const std::string& uuid, double volume, char kind);
  void SubmitWire(int c, const std::string& uuid, double volume, char kind);
  void Retry(int c, const std::string& uuid, int64_t after_us, char kind = 'o');
  void Leave(int c, const std::string& uuid);
  void Record(const Submission& s, SeenReply r);
  void React(const Submission& s, const SeenReply& r);
  void OnWireReply(uint64_t id, std::string body);
  void ExpectReply(uint64_t id, int64_t within_us);

  const SimOptions opt_;
  Core core_;
  SimDisk disk_;
  SimNet net_;
  gateway::GatewayConfig cfg_;
  std::unique_ptr<gateway::Gateway> gw_;
  SimFrontPort* front_ = nullptr;  // the current gateway's (it owns it)
  uint64_t incarnation_ = 0;
  bool turn_pending_ = false;
  int64_t timer_at_us_ = -1;
  uint64_t timer_gen_ = 0;
  bool write_pending_ = false;
  bool read_pending_ = false;  // a simulated store read is under way (ReadStore() when done)
  bool faults_on_ = true;
  bool clients_on_ = true;
  int liveness_open_ = 0;  // fresh orders after the faults not yet settled

  std::vector<Client> clients_;
  std::map<std::string, OrderHistory> orders_;
  std::map<std::string, Progress> progress_;
  std::map<uint64_t, Submission> pending_;
  // When the last message to / from each wire client arrives: a connection delivers in order.
  std::map<int, int64_t> to_gateway_at_us_, to_client_at_us_;
  uint64_t next_id_ = 1;
  uint64_t hash_ = 1469598103934665603ULL;
  SimResult res_;
};

}  // namespace ordergate::sim

#endif  // ORDERGATE_TESTS_SIMULATION_SIM_WORLD_H_
