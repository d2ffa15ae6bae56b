// BridgeLink: the DEALER ordergate connects to the MT5 bridge's REP with, as in section 1.
//
//   BridgeLinkOptions opts; opts.endpoint = "tcp://127.0.0.1:5556";
//   auto link = BridgeLink::Connect(*io, opts);            // start-up; connects in the background
//   if ((*link)->IsUp()) (*link)->Send(token, uuid, body, now_ns + timeout_ns);
//   std::vector<BridgeEvent> events;
//   (*link)->Poll(now_ns, &events);                        // replies, timeouts, late replies
//
// Requests are pipelined as [empty][json]; replies are correlated by BridgeCorrelator
// (bridge_correlator.h): by `uuid` (oldest outstanding request with that uuid) and, for replies
// without one, by arrival order among requests sent without a uuid. A reply whose uuid matches
// nothing is counted and dropped, never guessed onto another order. Deadlines: at its deadline a
// request is reported kTimedOut once; it stays correlated for late_reply_window_ms so that a late
// reply is still delivered (kLateReply) — unless the connection it was sent on has dropped, since a
// REP bridge can never answer on a new connection.
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
#include "transport/bridge_port.h"
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

class BridgeLink final : public BridgePort {
 public:
  // Creates the socket and starts connecting (does not wait for the bridge). kInvalidArgument (with
  // message) for a malformed endpoint.
  static absl::StatusOr<std::unique_ptr<BridgeLink>> Connect(IoContext& io,
                                                             const BridgeLinkOptions& opts);
  ~BridgeLink() override;

  // BridgePort (bridge_port.h), over the DEALER: IsUp() is true while a ZMTP handshake with the
  // bridge has succeeded and the connection has not dropped; Send() refuses (kUnavailable) while it
  // is not, or when the send queue is full; Poll() reads connection events first, then every
  // queued reply, then fires deadlines.
  bool IsUp() const override;
  absl::Status Send(uint64_t token, absl::string_view uuid, absl::string_view body,
                    int64_t deadline_ns) override;
  void Forget(uint64_t token) override;
  bool IsCorrelated(uint64_t token) const override;
  void Poll(int64_t now_ns, std::vector<BridgeEvent>* out) override;
  int64_t NextDeadlineNs() const override;
  size_t outstanding() const override;
  size_t unanswered() const override;
  BridgeLinkStats stats() const override;

  void* poll_handle();     // readable: replies queued
  void* monitor_handle();  // readable: connection events queued

 private:
  BridgeLink();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_BRIDGE_LINK_H_
