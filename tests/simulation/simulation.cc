// RunSimulation (simulation.h): one World (sim_world.h) and its report.
#include "simulation.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <sstream>

#include "sim_world.h"

namespace ordergate::sim {

std::string SimResult::Report() const {
  std::ostringstream o;
  o << "==== simulation (seed " << seed << "): " << events << " events, "
    << static_cast<double>(simulated_us) / 1e6 << " s simulated in " << wall_s << " s\n";
  o << "orders " << counts.orders << ", submissions " << submissions << " (replies lost with a "
    << "crashed gateway " << lost_replies << "), conflicts " << counts.conflicts << "\n";
  o << "bridge: requests " << bridge.requests << ", executed " << bridge.executed << ", rejected "
    << bridge.rejected << ", expired " << bridge.expired << ", odd replies " << bridge.odd
    << ", lost replies " << bridge.no_reply << ", stalls " << bridge.stalls << ", crashes "
    << bridge.crashes << ", ORDER_STATUS " << bridge.queries << "\n";
  o << "network: dropped requests " << bridge.dropped_requests << ", dropped replies "
    << bridge.dropped_replies << ", duplicated replies " << bridge.duplicated_replies
    << ", partitions " << bridge.partitions << ", connections " << bridge.connections << "\n";
  o << "gateway: starts " << gateway_starts << ", crashes " << gateway_crashes
    << ", clean restarts " << clean_restarts << "; store outages " << store_outages
    << " (failed writes " << failed_applies << ", of them reached the disk " << torn_applied
    << "), RESERVED recovered as UNKNOWN " << recovered << "\n";
  o << "outcomes: FILLED " << counts.filled << ", REJECTED " << counts.rejected
    << ", never recorded " << counts.absent << "; acknowledged " << counts.acknowledged
    << "; UNKNOWN seen " << counts.unknown_seen << ", resolved " << counts.unknown_resolved
    << "; only refused " << counts.refused_only << "; executions " << counts.executed
    << ", duplicates " << counts.duplicates << "; fresh orders after the faults " << counts.liveness
    << "\n";
  o << "named clients: " << named_orders << " orders, " << shared_uuids
    << " uuids sent by more than one client\n";
  o << "refusals that record nothing:";
  for (const auto& [k, n] : refusals) o << " " << k << "=" << n;
  o << "\n";
  o << "history hash " << history_hash << "\nviolations: " << violations.size() << "\n";
  for (size_t i = 0; i < violations.size() && i < 30; ++i) o << "  " << violations[i] << "\n";
  o << details;
  if (!violations.empty()) {
    o << "FAILED with seed " << seed << ": replay with ordergate_simulation --seed " << seed
      << " --events "
      << "<the same budget>\n";
  }
  return o.str();
}

SimResult RunSimulation(const SimOptions& opt) {
  // The gateway's logs: millions of lines otherwise. ORDERGATE_SIM_LOG=info (or debug, warn)
  // shows them, on stderr, for a replay.
  const char* level = std::getenv("ORDERGATE_SIM_LOG");
  spdlog::set_level(level == nullptr ? spdlog::level::off : spdlog::level::from_str(level));
  World w(opt);
  return w.Run();
}

}  // namespace ordergate::sim
