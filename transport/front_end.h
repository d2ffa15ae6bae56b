// FrontEnd: the ROUTER strategies connect to (REQ or DEALER clients), as in section 2 of the
// contract.
//
//   FrontEndOptions opts; opts.endpoint = "tcp://127.0.0.1:*";
//   auto fe = FrontEnd::Bind(*io, opts);          // start-up
//   InboundRequest req;
//   while ((*fe)->TryReceive(&req) == ReceiveResult::kMessage) {
//     (*fe)->Reply(req.route, "{...}");
//   }
//
// Framing: a client frame sequence arrives as [routing id][empty][body] (REQ, and DEALER clients
// that send the empty delimiter as the contract says) or [routing id][body] (a DEALER without it).
// The reply mirrors what came: with the delimiter iff the request had it. Anything else (no body,
// more than one body frame) is dropped and counted: the contract cannot answer it. ZMQ_MAXMSGSIZE
// is set to max_message_bytes: a peer sending a larger frame is disconnected by libzmq; bodies
// between max_request_bytes and it are delivered so the gateway can answer OVERSIZE.
//
// Limits (what one client can cost, see FrontEndOptions): replies queued for a peer that does not
// read stop at send_hwm (further replies to it are dropped and counted), requests queued from a
// peer stop at receive_hwm (libzmq then stops reading its socket: TCP pushes back, nothing is
// lost), kernel buffers are fixed at sndbuf_bytes/rcvbuf_bytes, and connections beyond the cap are
// refused at the end of their handshake (connection_guard.h). Everything a connection held is freed
// when it closes. The cap is min(max_connections, soft RLIMIT_NOFILE - descriptor_reserve), so the
// bridge link, the store, the HTTP endpoint and the logs always find descriptors.
//
// Security: see FrontEndOptions::curve_secret_key. With CURVE, the ZAP handler that enforces the
// connection cap also checks the client's key against the allowlist; the name it answers becomes
// libzmq's "User-Id" property of the connection's messages, which TryReceive copies to
// InboundRequest::identity. A client cannot choose it: it follows from the key that passed the
// handshake. ReplaceCurveClients swaps the allowlist while the front end runs (a reload): new
// connections are judged by the new list at once; an open connection whose key has left it is
// revoked: TryReceive drops its requests unread (stats().curve_revoked_requests, and a warning
// naming the identity through on_auth_refusals), so it stops trading at once, though libzmq keeps
// the TCP connection open until the client closes it. A key that stays but under a new name keeps
// its old name on the connections already open; the new name applies from its next connection.
//
// Threads: one thread owns a FrontEnd (Bind, TryReceive, Reply, poll_handle, destruction). Bind
// starts one helper thread, owned by the FrontEnd and joined by its destructor, that answers
// libzmq's ZAP requests (the connection cap) and reads the ROUTER's connection events; it never
// touches the ROUTER. stats(), dropped_count() and ReplaceCurveClients() are safe from any thread.
// zmq::error_t never escapes.
#ifndef ORDERGATE_TRANSPORT_FRONT_END_H_
#define ORDERGATE_TRANSPORT_FRONT_END_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/io.h"

namespace ordergate::transport {

// Defaults are for a trading gateway: hundreds of strategies at most, each with a window of
// requests outstanding (the benchmarks use up to 256), every request answered by one reply.
struct FrontEndOptions {
  std::string endpoint = "tcp://127.0.0.1:5555";
  int64_t max_message_bytes = 1 << 20;  // ZMQ_MAXMSGSIZE
  // Replies queued per peer (ZMQ_SNDHWM, messages). A peer that reads holds at most its window of
  // replies; one that does not read costs at most send_hwm replies (~0.5 KB each with the queue's
  // own overhead: ~0.5 MB), the rest are dropped and counted (stats().replies_dropped_full).
  int send_hwm = 1000;
  // Requests queued per peer before the loop reads them (ZMQ_RCVHWM, messages). Past it libzmq
  // stops reading that peer's socket, so a flood waits in TCP, not in memory; fair queuing keeps
  // the other peers served. Costs at most receive_hwm * max_message_bytes per peer.
  int receive_hwm = 128;
  // Kernel socket buffers per connection (ZMQ_SNDBUF/ZMQ_RCVBUF, bytes; the kernel doubles them).
  // Fixed rather than autotuned (up to 4 MB each on Debian): a reply burst of 64 KiB is ~200
  // replies, far more than a loopback or LAN round trip needs.
  int sndbuf_bytes = 64 << 10;
  int rcvbuf_bytes = 64 << 10;
  // Connections admitted at once (see connection_guard.h): a few per strategy (a REQ and a DEALER,
  // an old connection not yet noticed gone while the new one opens) for hundreds of strategies.
  int max_connections = 512;
  // Descriptors kept for everything else: the bridge link (1 TCP + ~4 ZeroMQ mailboxes), the ZeroMQ
  // context and this front end's own sockets (~12), the store (RocksDB: WAL, MANIFEST, LOG, LOCK,
  // table files — up to its max_open_files), the HTTP endpoint (listener + one per client it
  // holds), stdio and logs. 512 covers RocksDB with max_open_files <= 256 and 200 HTTP clients.
  int descriptor_reserve = 512;
  // A connection must finish its ZMTP handshake within this (ZMQ_HANDSHAKE_IVL; libzmq's default is
  // 30 s): a TCP connection that never speaks ZMTP holds a descriptor at most this long.
  int handshake_timeout_ms = 5000;
  // ZMTP heartbeats (ZMQ_HEARTBEAT_IVL/_TIMEOUT): a peer that has gone without closing (host down,
  // cable pulled) or that stopped reading so long that even the PING cannot reach it is dropped
  // after heartbeat_timeout_ms of silence and its slot and memory freed. 0 turns them off.
  int heartbeat_ivl_ms = 10000;
  int heartbeat_timeout_ms = 30000;
  // CurveZMQ (https://rfc.zeromq.org/spec/26/). When curve_secret_key is set (the server's secret
  // key, 40 characters of Z85: curve_cert.h reads it from a certificate), the ROUTER is a CURVE
  // server: traffic is encrypted and every client must present a key of curve_clients, or its
  // handshake fails and it gets nothing (counted: stats().curve_unknown_key /
  // curve_handshake_failed). An admitted client's requests carry the allowlisted name as
  // InboundRequest::identity. Empty: no CURVE, identity "" (as before).
  std::string curve_secret_key;
  std::map<std::string, std::string> curve_clients;  // client public key (Z85) -> name
  // Called from the front end's helper thread with a one-line warning about refused connections
  // (an unknown key, a failed handshake): at most once a second, with the count since the last,
  // the last peer's address and why; and from the owner thread, in TryReceive, about requests
  // dropped from revoked clients: at most once a second (those dropped within the second after a
  // line are told in the next line, with their count), naming the last one's identity and key.
  // Must be thread-safe (spdlog's loggers are) and not block.
  std::function<void(absl::string_view)> on_auth_refusals;
};

// Counters since Bind (totals) and gauges (now).
struct FrontEndStats {
  uint64_t connections_open = 0;      // gauge: accepted TCP connections not closed (any state)
  uint64_t connections_admitted = 0;  // gauge: of those, admitted (handshake passed the cap)
  uint64_t connections_refused = 0;   // refused at the cap
  uint64_t accept_failures = 0;       // accept() failures (descriptor limits)
  uint64_t handshake_failures = 0;    // handshakes that failed (timeout, protocol, refusal)
  uint64_t replies_dropped_full = 0;  // replies dropped: the peer had send_hwm replies queued
  uint64_t replies_dropped_gone = 0;  // replies dropped: the peer had disconnected
  uint64_t requests_dropped = 0;      // malformed frame sequences (== dropped_count())
  // With CURVE only (0 without): connections refused before they could send anything.
  uint64_t curve_unknown_key = 0;       // the client's key is not allowlisted (ZAP said 400)
  uint64_t curve_handshake_failed = 0;  // no key (NULL mechanism), not ZMTP, timed out, gone
  // Requests (not connections) dropped unread: they came on a connection whose key was removed
  // from the allowlist by ReplaceCurveClients after it was admitted.
  uint64_t curve_revoked_requests = 0;
};

// Where a reply goes. Fixed-size (no allocation): routing ids are at most 255 bytes.
struct ReplyRoute {
  uint8_t id_size = 0;
  bool delimiter = true;
  char id[255] = {};
};

struct InboundRequest {
  ReplyRoute route;
  std::string body;  // reused across calls: capacity is kept, so steady state allocates nothing
  // The client's authenticated name: on a CURVE front end, the metadata.name of the allowlisted
  // certificate whose key completed the handshake (libzmq's "User-Id" message property, set from
  // the ZAP verdict); it comes from the key, never from anything the client sends. "" without
  // CURVE. Reused like body: no allocation in steady state.
  std::string identity;
};

enum class ReceiveResult : uint8_t { kMessage, kNone, kDropped };

// What the order pipeline needs of its front end: requests in, replies out, never blocking.
// FrontEnd is the ZeroMQ ROUTER; the deterministic simulation (tests/simulation) drives the same
// pipeline through one of its own, so the wire's decoding, PENDING deadlines, joins and
// ORDER_STATUS are simulated with the real code. Thread-safety: none; one thread owns a port.
class RequestPort {
 public:
  virtual ~RequestPort() = default;
  // Non-blocking. kMessage: *out holds one request. kNone: nothing queued. kDropped: one malformed
  // frame sequence was consumed and counted.
  virtual ReceiveResult TryReceive(InboundRequest* out) = 0;
  // Non-blocking. A reply that cannot be delivered (the peer has gone, its queue is full) is
  // dropped and still returns OK: the client resends by uuid. kUnavailable (code-only) only when
  // the port itself has failed.
  virtual absl::Status Reply(const ReplyRoute& route, absl::string_view body) = 0;
};

class FrontEnd final : public RequestPort {
 public:
  // Binds. Raises the process's soft RLIMIT_NOFILE to its hard limit first (RaiseDescriptorLimit,
  // io.h) and caps connections at min(max_connections, soft limit - descriptor_reserve):
  // max_connections() says which. kInvalidArgument (with message) when an option is out of range,
  // when the limit leaves no descriptor for a connection, or when the endpoint is unusable;
  // kInvalidArgument also when curve_secret_key or an allowlisted key is not 40 characters of Z85;
  // kAlreadyExists when `io` already has a FrontEnd (one ZAP handler per context; Bind waits up to
  // 0.5 s for one destroyed a moment ago to let go of it); kUnavailable
  // (with message) when the endpoint cannot be bound (address in use).
  static absl::StatusOr<std::unique_ptr<FrontEnd>> Bind(IoContext& io, const FrontEndOptions& opts);
  ~FrontEnd() override;

  // The endpoint actually bound (resolves "tcp://127.0.0.1:*" to its port).
  const std::string& endpoint() const;

  // Non-blocking. kMessage: *out holds one request. kNone: nothing queued. kDropped: one malformed
  // frame sequence was consumed and counted in dropped_count(). Requests of revoked connections
  // (see ReplaceCurveClients) are consumed and counted in stats().curve_revoked_requests, never
  // returned: the call goes on to the next message, up to kMaxRevokedPerReceive of them, then says
  // kNone (the socket is still readable: the next poll returns at once). The check costs one
  // atomic load per request while no key has ever been revoked, and a lookup in the revoked keys
  // after.
  ReceiveResult TryReceive(InboundRequest* out) override;
  static constexpr int kMaxRevokedPerReceive = 256;

  // Replaces the CURVE allowlist (public key in Z85 -> name, as FrontEndOptions::curve_clients),
  // e.g. on SIGHUP; returns the previous one. Any thread; blocks only briefly (a mutex taken by
  // the helper thread once per handshake verdict, and by TryReceive's owner thread once after each
  // replacement). No connection is closed and no queued reply is dropped. From the return on:
  //   - every handshake is judged by `clients` (a new key connects, a removed one is refused and
  //     counted as curve_unknown_key);
  //   - requests from connections admitted under a key that `clients` lacks are dropped unread
  //     (curve_revoked_requests), including any already queued; a key put back later is
  //     admitted again, on its old connections too;
  //   - a key kept under a new name keeps the old name on its open connections (its next
  //     connection gets the new one).
  // kFailedPrecondition when the front end has no CURVE; kInvalidArgument (with message) when a key
  // is not 40 characters of Z85. Nothing changes on an error.
  absl::StatusOr<std::map<std::string, std::string>> ReplaceCurveClients(
      std::map<std::string, std::string> clients);

  // Non-blocking. A reply to a peer that has gone, or to one with send_hwm replies queued, is
  // dropped, counted (replies_dropped_gone / replies_dropped_full) and still returns OK: the
  // client resends by uuid. kUnavailable (code-only) only when the socket itself fails (context
  // terminating).
  absl::Status Reply(const ReplyRoute& route, absl::string_view body) override;

  void* poll_handle();
  uint64_t dropped_count() const;
  // The connection cap in force (see Bind).
  int max_connections() const;
  // Any thread.
  FrontEndStats stats() const;

 private:
  FrontEnd();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_FRONT_END_H_
