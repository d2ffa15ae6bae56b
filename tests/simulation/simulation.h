// A deterministic simulation of the real order pipeline (gateway::Gateway::StartSimulated): the
// gateway's own code, decisions and all, on one thread under a simulated clock, with a simulated
// bridge and network (sim_bridge.h), a simulated disk (sim_store.h) and clients that submit, retry,
// conflict, give up and come back, while faults are injected at seeded random moments:
//   bridge: refusals, odd replies, lost replies, stalls past the deadline (late replies), crashes
//     (executed or not), expired signatures; network: lost, duplicated and reordered messages,
//     partitions; store: failing writes (some of which reach the disk anyway); gateway: crashes
//     (with the batch being written reaching the disk or not) and clean restarts.
// When the event budget is spent the faults stop, every UNKNOWN is given time to resolve, fresh
// orders must fill, acknowledged orders are resent, and history_check.h judges the whole history.
//
//   SimOptions opt; opt.seed = 7; opt.events = 1000000;
//   SimResult r = RunSimulation(opt);   // r.violations empty: the run passed
//   std::puts(r.Report().c_str());      // figures, and the seed to replay it
#ifndef ORDERGATE_TESTS_SIMULATION_SIMULATION_H_
#define ORDERGATE_TESTS_SIMULATION_SIMULATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "history_check.h"
#include "sim_bridge.h"

namespace ordergate::sim {

using check::CheckCounts;

struct SimOptions {
  uint64_t seed = 1;
  uint64_t events = 1000000;  // events with faults on; resolution and checks come after
  int64_t simulated_s = 0;    // > 0: instead of `events`, run this much simulated time
  int clients = 8;
  // Mean pause of a client between actions (µs, simulated): the offered load.
  int64_t client_pause_us = 15000;
  // Mean time between faults of each kind (simulated µs).
  int64_t gateway_crash_every_us = 4000000;
  int64_t gateway_restart_every_us = 15000000;
  int64_t store_outage_every_us = 3000000;
  int64_t partition_every_us = 5000000;
  bool faults = true;
  // Every reply's bytes kept for the report (a week's run keeps status, code and ticket only).
  bool keep_raw_replies = true;
};

struct SimResult {
  uint64_t seed = 0;
  uint64_t events = 0;
  int64_t simulated_us = 0;
  double wall_s = 0;
  CheckCounts counts;
  SimNet::Counters bridge;
  uint64_t gateway_starts = 0, gateway_crashes = 0, clean_restarts = 0, store_outages = 0,
           failed_applies = 0, torn_applied = 0, recovered = 0, submissions = 0, lost_replies = 0;
  // Orders of the named (CURVE) clients, and the uuids more than one of them sent: each such uuid
  // is several orders (transport/order_scope.h).
  uint64_t named_orders = 0, shared_uuids = 0;
  std::map<std::string, uint64_t> refusals;  // status/code -> replies that recorded nothing
  uint64_t history_hash = 0;                 // of every reply in order: equal hashes, equal runs
  std::vector<std::string> violations;
  std::string details;  // the histories of the first violating uuids
  std::string Report() const;
};

SimResult RunSimulation(const SimOptions& opt);

}  // namespace ordergate::sim

#endif  // ORDERGATE_TESTS_SIMULATION_SIMULATION_H_
