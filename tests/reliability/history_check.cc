#include "history_check.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace ordergate::check {
namespace {

bool Acknowledges(const SeenReply& r) {
  return r.kind != 'c' && r.recorded && (r.status == "FILLED" || r.status == "REJECTED");
}

}  // namespace

bool RecordedOnTheWire(const std::string& status, const std::string& code) {
  const bool refusal =
      (status == "REJECTED" && (code == "GATEWAY_BUSY" || code == "BRIDGE_DOWN")) ||
      (status == "error" && code == "STORE_UNAVAILABLE");
  return !refusal && status != "PENDING" && code != "IDEMPOTENCY_CONFLICT" && code != "NOT_FOUND";
}

std::vector<std::string> CheckHistory(const std::map<std::string, OrderHistory>& orders,
                                      const std::map<std::string, std::vector<Execution>>& journal,
                                      const std::map<std::string, FinalRecord>& finals,
                                      const CheckOptions& options, CheckCounts* counts) {
  std::vector<std::string> v;
  auto violate = [&v](const std::string& uuid, const std::string& what) {
    v.push_back(absl::StrCat(uuid, ": ", what));
  };
  for (const auto& [u, execs] : journal) {
    counts->executed += execs.size();
    if (execs.size() > 1) {
      ++counts->duplicates;
      violate(u, absl::StrCat("executed ", execs.size(), " times at the bridge (tickets ",
                              execs[0].ticket, ", ", execs[1].ticket, ")"));
    }
    auto o = orders.find(u);
    if (o == orders.end()) {
      violate(u, "executed at the bridge but no client ever sent it");
    } else if (!execs.empty() && std::fabs(execs[0].volume - o->second.volume) > 1e-9) {
      violate(u, absl::StrCat("executed with volume ", execs[0].volume, ", the order's is ",
                              o->second.volume));
    }
  }
  for (const auto& [u, o] : orders) {
    ++counts->orders;
    const auto jt = journal.find(u);
    const bool executed = jt != journal.end() && !jt->second.empty();
    const int64_t jticket = executed ? jt->second.front().ticket : 0;
    const auto ft = finals.find(u);
    const FinalRecord fin = ft == finals.end() ? FinalRecord{"ABSENT", 0, ""} : ft->second;
    bool saw_unknown = false, acked = false;
    SeenReply ack;
    for (const SeenReply& r : o.replies) {
      if (r.kind == 'c') {
        ++counts->conflicts;
        if (!(r.status == "REJECTED" && r.code == "IDEMPOTENCY_CONFLICT") &&
            !(r.status == "error" && r.code == "STORE_UNAVAILABLE") &&
            !(options.pending_at_reservation_deadline && r.status == "PENDING")) {
          violate(u, "a conflicting body got " + r.raw);
        }
        continue;
      }
      const bool known = r.status == "FILLED" || r.status == "REJECTED" || r.status == "UNKNOWN" ||
                         (r.status == "PENDING" && r.wire) ||
                         (r.status == "error" && (r.code == "STORE_UNAVAILABLE" ||
                                                  (r.kind == 'q' && r.code == "NOT_FOUND")));
      if (!known) violate(u, "answered a status the protocol does not have: " + r.raw);
      if (r.status == "FILLED") {
        if (r.ticket <= 0) violate(u, "FILLED without a positive ticket: " + r.raw);
        if (!executed) violate(u, "FILLED (" + r.raw + ") but not in the bridge's journal");
        if (r.ticket != jticket) {
          violate(u, absl::StrCat("FILLED with ticket ", r.ticket, ", the journal's is ", jticket));
        }
      }
      if (r.status == "REJECTED" && r.code == "IDEMPOTENCY_CONFLICT") {
        violate(u, "its own body was refused as a conflict: " + r.raw);
      }
      if (r.status == "UNKNOWN") saw_unknown = true;
      if (r.kind == 'r' && !acked) continue;  // the final resend is judged below
      if (Acknowledges(r)) {
        if (!acked) {
          acked = true;
          ack = r;
        } else if (r.status != ack.status || r.code != ack.code || r.ticket != ack.ticket) {
          violate(u, absl::StrCat("acknowledged ", ack.raw, " then answered ", r.raw));
        }
      } else if (acked && r.at_us > ack.at_us + options.ack_grace_us &&
                 !(r.status == "error" && r.code == "STORE_UNAVAILABLE") &&
                 !(options.pending_at_reservation_deadline && r.status == "PENDING")) {
        violate(u, absl::StrCat("acknowledged ", ack.raw, " then answered ", r.raw));
      }
    }
    if (acked) ++counts->acknowledged;
    if (saw_unknown) ++counts->unknown_seen;
    // (2) the acknowledged outcome is the store's, and replays to a resend.
    if (acked) {
      if (fin.state != ack.status || (ack.status == "FILLED" && fin.ticket != ack.ticket)) {
        violate(u, absl::StrCat("acknowledged ", ack.raw, " but the store ends ", fin.state));
      }
      // The last resend is the final one (earlier ones, e.g. to a restarted gateway, are judged
      // as replies above).
      const SeenReply* last = nullptr;
      for (const SeenReply& r : o.replies) {
        if (r.kind == 'r') last = &r;
      }
      if (last == nullptr) {
        violate(u, "no answer to the final resend");
      } else if (last->status != ack.status || last->ticket != ack.ticket || !last->duplicate) {
        violate(u, "the final resend answered " + last->raw);
      }
    }
    // (3) resolution, FILLED iff executed.
    if (fin.state == "FILLED") {
      ++counts->filled;
      if (saw_unknown) ++counts->unknown_resolved;
      if (!executed) violate(u, "the store ends FILLED but the bridge never executed it");
      if (fin.ticket != jticket) {
        violate(u, absl::StrCat("the store's ticket ", fin.ticket, ", the journal's ", jticket));
      }
    } else if (fin.state == "REJECTED") {
      ++counts->rejected;
      if (saw_unknown) ++counts->unknown_resolved;
      if (executed) violate(u, "the store ends REJECTED (" + fin.code + ") but it executed");
    } else if (fin.state == "ABSENT") {
      ++counts->absent;
      if (executed) violate(u, "executed at the bridge, yet the store has no record of it");
      if (acked || saw_unknown) violate(u, "had a record, now none");
    } else {
      ++counts->unresolved;
      violate(u, "not resolved once the faults stopped: the final record is " + fin.state);
    }
    // (4) refusals that record nothing never execute.
    if (o.only_refused) {
      ++counts->refused_only;
      if (executed) violate(u, "only ever refused (nothing recorded), yet executed");
    }
    // (7) liveness.
    if (o.liveness) {
      ++counts->liveness;
      if (fin.state != "FILLED") violate(u, "a fresh order after the faults ended " + fin.state);
    }
  }
  return v;
}

}  // namespace ordergate::check
