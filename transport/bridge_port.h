// BridgePort: what the order pipeline needs of its connection to the MT5 bridge, apart from how the
// bytes travel. BridgeLink (bridge_link.h) is the real one, a ZeroMQ DEALER; the deterministic
// simulation (tests/simulation) drives the same pipeline through a simulated one, so the pipeline's
// decisions can be checked over millions of seeded events without a socket or a thread.
//
//   if (port->IsUp()) port->Send(token, uuid, body, now_ns + timeout_ns);
//   std::vector<BridgeEvent> events;
//   port->Poll(now_ns, &events);  // replies, timeouts, late replies: never blocks
//
// Every implementation correlates replies with BridgeCorrelator (bridge_correlator.h), so replies,
// deadlines and late replies mean the same whichever port delivered them.
// Thread-safety: none; one thread owns a port.
#ifndef ORDERGATE_TRANSPORT_BRIDGE_PORT_H_
#define ORDERGATE_TRANSPORT_BRIDGE_PORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ordergate::transport {

enum class BridgeEventKind : uint8_t {
  kReply,      // the reply arrived before the request's deadline
  kTimedOut,   // the deadline passed with no reply (reported once per request)
  kLateReply,  // the reply arrived after kTimedOut was reported
};

struct BridgeEvent {
  BridgeEventKind kind = BridgeEventKind::kReply;
  uint64_t token = 0;
  std::string body;     // the reply body (empty for kTimedOut)
  int64_t sent_ns = 0;  // steady-clock time the request was handed to the connection
};

struct BridgeLinkStats {
  uint64_t sent = 0;
  uint64_t replies = 0;
  uint64_t late_replies = 0;
  uint64_t unmatched_replies = 0;
  uint64_t timeouts = 0;
  uint64_t disconnects = 0;
};

class BridgePort {
 public:
  virtual ~BridgePort() = default;

  // True while a connection to the bridge is established (for BridgeLink: a ZMTP handshake has
  // succeeded and the connection has not dropped).
  virtual bool IsUp() const = 0;

  // Non-blocking. `token` is the caller's correlation handle (unique among outstanding requests;
  // reusing the token of a timed-out request that still lingers is tolerated, Forget then drops
  // both). An empty `uuid` means the request carries none.
  // OK: handed to the connection (it may still be lost with it; the deadline will say so).
  // kUnavailable (code-only): IsUp() is false, or the queue is full; nothing was sent.
  virtual absl::Status Send(uint64_t token, absl::string_view uuid, absl::string_view body,
                            int64_t deadline_ns) = 0;

  // Stops correlating `token`; a later reply with its uuid goes to a newer request or is unmatched.
  virtual void Forget(uint64_t token) = 0;

  // True while a reply to `token` can still arrive and be matched to it: the request is outstanding
  // or lingering for a late reply, on the connection that is current. False once it was replied,
  // forgotten, expired from the late-reply window, or orphaned by a dropped connection.
  // Non-blocking. The gateway asks ORDER_STATUS about an UNKNOWN only once this is false, so that a
  // reply to the question and the order's own late reply can never be mistaken for each other.
  virtual bool IsCorrelated(uint64_t token) const = 0;

  // Non-blocking: reads connection events and every queued reply, and reports every deadline
  // <= now_ns. Appends to *out (clears nothing). Replies are read before deadlines are checked, so
  // a reply already queued when Poll runs counts as on time (kReply) even if now_ns is past its
  // request's deadline: the bridge's answer is definitive however late the gateway looks at it.
  virtual void Poll(int64_t now_ns, std::vector<BridgeEvent>* out) = 0;

  // The earliest deadline not yet reported, or INT64_MAX.
  virtual int64_t NextDeadlineNs() const = 0;

  // Requests sent whose deadline has not passed and whose reply has not arrived.
  virtual size_t outstanding() const = 0;

  // Requests sent on the current connection whose reply has not arrived, whether or not their
  // deadline has passed (a timed-out request is still queued at a REP bridge, which answers every
  // request in turn). This is what sits in the bridge's receive queue: the gateway bounds it below
  // the bridge's receive HWM, past which a REP stops reading its socket and so answers no
  // heartbeat. A timed-out request stops counting when its late reply arrives, when its
  // late-reply window ends, or when the connection drops. Non-blocking.
  virtual size_t unanswered() const = 0;

  virtual BridgeLinkStats stats() const = 0;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_BRIDGE_PORT_H_
