// BridgeLink: the DEALER ordergate connects to the MT5 bridge's REP with, as in section 1.
//
//   BridgeLinkOptions opts; opts.endpoint = "tcp://127.0.0.1:5556";
//   auto link = BridgeLink::Connect(*io, opts);            // start-up; connects in the background
//   if ((*link)->IsUp()) (*link)->Send(token, uuid, body, now_ns + timeout_ns);
//   std::vector<BridgeEvent> events;
//   (*link)->Poll(now_ns, &events);                        // replies, timeouts, late replies
//
// Requests are pipelined as [empty][json]; replies are correlated by `uuid` (oldest outstanding
// request with that uuid) and, for replies without one, by arrival order among requests sent
// without a uuid. A reply whose uuid matches nothing is counted and dropped, never guessed onto
// another order. Only the reply's top-level "uuid" member is read: absent, null or "" all mean "no
// uuid"; a reply that is not a JSON object, or whose uuid is another JSON type, is unmatched.
// Deadlines: at its deadline a request is reported kTimedOut once; it stays correlated for
// late_reply_window_ms so that a late reply is still delivered (kLateReply) — unless the connection
// it was sent on has dropped, since a REP bridge can never answer on a new connection.
// ZMQ_IMMEDIATE is on: with no connected bridge Send() fails at once instead of queueing, so the
// gateway can refuse with BRIDGE_DOWN before anything is sent. ZMTP heartbeats detect a dead peer;
// libzmq reconnects by itself. Thread-safety: none; one thread owns a BridgeLink.
#ifndef ORDERGATE_TRANSPORT_BRIDGE_LINK_H_
#define ORDERGATE_TRANSPORT_BRIDGE_LINK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/io.h"

namespace ordergate::transport {

struct BridgeLinkOptions {
  std::string endpoint = "tcp://127.0.0.1:5556";
  int heartbeat_ivl_ms = 1000;
  int heartbeat_timeout_ms = 3000;
  int reconnect_ivl_ms = 100;
  int reconnect_ivl_max_ms = 2000;
  int64_t late_reply_window_ms = 600000;
  int send_hwm = 100000;
};

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

class BridgeLink {
 public:
  // Creates the socket and starts connecting (does not wait for the bridge). kInvalidArgument (with
  // message) for a malformed endpoint.
  static absl::StatusOr<std::unique_ptr<BridgeLink>> Connect(IoContext& io,
                                                             const BridgeLinkOptions& opts);
  ~BridgeLink();

  // True while a ZMTP handshake with the bridge has succeeded and the connection has not dropped.
  bool IsUp() const;

  // Non-blocking. `token` is the caller's correlation handle (unique among outstanding requests;
  // reusing the token of a timed-out request that still lingers is tolerated, Forget then drops
  // both). An empty `uuid` means the request carries none.
  // OK: handed to the connection (it may still be lost with it; the deadline will say so).
  // kUnavailable (code-only): IsUp() is false, or the queue is full; nothing was sent.
  absl::Status Send(uint64_t token, absl::string_view uuid, absl::string_view body,
                    int64_t deadline_ns);

  // Stops correlating `token`; a later reply with its uuid goes to a newer request or is unmatched.
  void Forget(uint64_t token);

  // True while a reply to `token` can still arrive and be matched to it: the request is outstanding
  // or lingering for a late reply, on the connection that is current. False once it was replied,
  // forgotten, expired from the late-reply window, or orphaned by a dropped connection.
  // Non-blocking. The gateway asks ORDER_STATUS about an UNKNOWN only once this is false, so that a
  // reply to the question and the order's own late reply can never be mistaken for each other.
  bool IsCorrelated(uint64_t token) const;

  // Non-blocking: reads connection events and every queued reply, and reports every deadline
  // <= now_ns. Appends to *out (clears nothing). Replies are read before deadlines are checked, so
  // a reply already queued when Poll runs counts as on time (kReply) even if now_ns is past its
  // request's deadline: the bridge's answer is definitive however late the gateway looks at it.
  void Poll(int64_t now_ns, std::vector<BridgeEvent>* out);

  // The earliest deadline not yet reported, or INT64_MAX.
  int64_t NextDeadlineNs() const;

  // Requests sent whose deadline has not passed and whose reply has not arrived.
  size_t outstanding() const;

  // Requests sent on the current connection whose reply has not arrived, whether or not their
  // deadline has passed (a timed-out request is still queued at a REP bridge, which answers every
  // request in turn). This is what sits in the bridge's receive queue: the gateway bounds it below
  // the bridge's receive HWM, past which a REP stops reading its socket and so answers no
  // heartbeat. A timed-out request stops counting when its late reply arrives, when its
  // late_reply_window_ms ends, or when the connection drops. Non-blocking.
  size_t unanswered() const;

  void* poll_handle();     // readable: replies queued
  void* monitor_handle();  // readable: connection events queued
  BridgeLinkStats stats() const;

 private:
  BridgeLink();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_BRIDGE_LINK_H_
