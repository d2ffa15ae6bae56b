// BridgeCapacity: how many requests may wait at the bridge, from its observed service time.
//
//   BridgeCapacity cap(/*budget_ns=*/4'500'000'000, /*max_unanswered=*/900);
//   cap.OnReply(ev.sent_ns, now_ns);                 // every reply, on time or late
//   if (link.unanswered() + 1 > cap.Limit()) ...     // refuse at once: GATEWAY_BUSY
//
// Why: the MT5-CRS bridge executes one request at a time (~60 ms each) and rejects an OPEN still
// queued when its signature is older than the TTL (5 s). Orders queued beyond what it can serve
// within the TTL are only ever rejected as expired, after the strategy waited seconds for nothing;
// and a queue past the bridge's receive HWM (1000) stops its socket, heartbeats and all. So the
// gateway bounds what is unanswered at the bridge by budget / service time, and refuses the rest
// at once with GATEWAY_BUSY, which the strategy may retry under the same uuid.
//
// Service time is measured from completions, not configured: a reply completes at `replied_ns`;
// the bridge worked on it since the later of its send time and the previous completion, so the
// gap is one service time while the bridge is busy and one round trip while it is idle (both are
// what the next request will wait). For a bridge that serves N at once the gaps are 1/N of a
// service time, which is what its queue drains at. An exponentially weighted mean (1/16 per
// sample) smooths the noise; one sample is capped at the budget, so a single stall (a 4-s MT5
// call) shrinks the limit for a few dozen replies rather than for good. A stall in progress counts
// at once: while the bridge is busy, the time since its last completion is a lower bound of the
// current service time, so a bridge stuck in a slow call admits nothing new that would only
// expire behind it. Before any reply the estimate assumes kColdStartLimit requests fit.
//
// Plain code: no clock, no I/O; times are passed in (steady clock, ns). Thread-safety: none; the
// gateway loop owns it.
#ifndef ORDERGATE_GATEWAY_BRIDGE_CAPACITY_H_
#define ORDERGATE_GATEWAY_BRIDGE_CAPACITY_H_

#include <cstdint>

namespace ordergate::gateway {

class BridgeCapacity {
 public:
  static constexpr uint64_t kColdStartLimit = 64;

  // `budget_ns`: the longest a request may wait at the bridge (its signature TTL less the
  // execution margin). `max_unanswered`: the configured ceiling (bridge_max_in_flight), kept below
  // the bridge's receive HWM by the configuration check. Both > 0.
  BridgeCapacity(int64_t budget_ns, uint64_t max_unanswered);

  // A request was sent at `sent_ns`; `bridge_was_idle`: nothing else was outstanding (sent,
  // unanswered and within its deadline) then.
  void OnSent(int64_t sent_ns, bool bridge_was_idle);

  // A reply (on time or late) to a request sent at `sent_ns` arrived at `replied_ns`.
  void OnReply(int64_t sent_ns, int64_t replied_ns);

  // The connection dropped: whatever was queued is gone and the next reply starts a new busy
  // period. The estimate is kept (it is the same bridge).
  void OnDisconnected();

  // Requests that may be unanswered at the bridge at `now_ns`: min(max_unanswered, budget /
  // service time), at least 1. `busy`: some request is within its deadline and unanswered now
  // (then a completion overdue since the last one raises the service time used; a request past
  // its deadline no longer does, so one the bridge lost cannot shut the gateway for good).
  uint64_t Limit(int64_t now_ns, bool busy) const;

  // The current service-time estimate (ns); 0 before the first reply.
  int64_t service_ns() const { return samples_ == 0 ? 0 : service_ns_; }

 private:
  int64_t budget_ns_;
  uint64_t max_unanswered_;
  int64_t service_ns_;
  int64_t last_reply_ns_ = 0;
  int64_t busy_since_ns_ = 0;  // when the current busy period began (a send to an idle bridge)
  uint64_t samples_ = 0;
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_BRIDGE_CAPACITY_H_
