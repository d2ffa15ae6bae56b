// BridgeCorrelator: pairs the bridge's replies with the requests they answer and keeps the
// requests' deadlines. It is the bookkeeping half of BridgeLink, kept apart from the socket so that
// the deterministic simulation's bridge port (tests/simulation) is correlated by the same code as
// the real one: a bug here is one the simulation can find.
//
//   BridgeCorrelator c(late_reply_window_ns);
//   c.OnSent(token, uuid, deadline_ns, now_ns);  // after the request left
//   c.OnReply(body, &events);                    // each reply read, in arrival order
//   c.FireDeadlines(now_ns, &events);            // after the replies already queued
//
// Rules (protocol.md section 1 and BridgeLink's banner): a reply is matched by its top-level "uuid"
// to the oldest request with that uuid sent on the current connection; a reply without a uuid
// (absent, null or "") to the oldest request sent without one; a reply that is not a JSON object,
// whose uuid is another JSON type, or that matches nothing is counted (unmatched_replies) and
// dropped, never guessed onto another order. At its deadline a request is reported kTimedOut once
// and lingers for late_reply_window_ns so a late reply is still delivered (kLateReply), unless the
// connection it was sent on has dropped (OnDisconnected): a REP bridge never answers on a new one.
// Owns: the table of requests, their deadline heap and linger queue, and a JSON parser.
// Thread-safety: none; one thread owns a correlator. Nothing here blocks or reads a clock.
#ifndef ORDERGATE_TRANSPORT_BRIDGE_CORRELATOR_H_
#define ORDERGATE_TRANSPORT_BRIDGE_CORRELATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "transport/bridge_port.h"

namespace ordergate::transport {

class BridgeCorrelator {
 public:
  // `late_reply_window_ns` >= 0; 0: a request is forgotten at its deadline.
  explicit BridgeCorrelator(int64_t late_reply_window_ns);
  ~BridgeCorrelator();
  BridgeCorrelator(const BridgeCorrelator&) = delete;
  BridgeCorrelator& operator=(const BridgeCorrelator&) = delete;

  // A request left on the current connection at `sent_ns` (reported back in its events).
  void OnSent(uint64_t token, absl::string_view uuid, int64_t deadline_ns, int64_t sent_ns);

  // One reply, as read. Appends at most one kReply / kLateReply to *out, or counts it unmatched.
  void OnReply(absl::string_view body, std::vector<BridgeEvent>* out);

  // A message that could not be a reply (for BridgeLink: not [empty][body]): counted unmatched.
  void OnUnreadableReply() { ++stats_.unmatched_replies; }

  // The connection dropped: every request sent so far is orphaned (no reply can match it; an
  // outstanding one still reports kTimedOut at its deadline, a lingering one is forgotten).
  void OnDisconnected();

  // Stops correlating `token` (every entry with it).
  void Forget(uint64_t token);

  // Reports every deadline <= now_ns as kTimedOut (in deadline order) and ends the lingering of
  // those whose late-reply window has passed.
  void FireDeadlines(int64_t now_ns, std::vector<BridgeEvent>* out);

  // As BridgePort (bridge_port.h).
  int64_t NextDeadlineNs() const;
  bool IsCorrelated(uint64_t token) const;
  size_t outstanding() const;
  size_t unanswered() const;
  const BridgeLinkStats& stats() const { return stats_; }

 private:
  struct Table;
  std::unique_ptr<Table> t_;
  BridgeLinkStats stats_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_BRIDGE_CORRELATOR_H_
