// GatewayOptions: everything an embedded ordergate::Gateway is opened with (gateway.h).
//
//   ordergate::GatewayOptions opts;
//   opts.bridge_endpoint = "tcp://10.0.0.5:5555";     // the MT5 bridge's REP socket
//   opts.data_dir = "/var/lib/my-strategy/ordergate"; // the idempotency store, kept across
//   restarts opts.durability = ordergate::Durability::kSync;   // the default: survives power loss
//
// Every field says its default ("Default:") and what Gateway::Open() requires of it ("REQUIRES:");
// an option outside its range makes Open() fail with kInvalidArgument naming the option, its value
// and the range, as ordergated's own configuration check does (the ranges are the same table:
// `ordergated --help` lists them). The timeout rules of the wire contract (docs/protocol.md,
// section 3) hold here too: bridge_timeout_ms must exceed bridge_signature_ttl_ms +
// bridge_exec_margin_ms, so that when the gateway gives up on a reply the bridge has either
// executed the order or will reject it as expired.
//
// Plain values: copy, compare and keep them freely. Nothing here is read after Open() returns,
// except the callback, which the Gateway keeps (a copy) until it is destroyed.
#ifndef ORDERGATE_OPTIONS_H_
#define ORDERGATE_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "ordergate/outcome.h"

namespace ordergate {

// When an order's reservation and outcome are durable, relative to sending and answering.
enum class Durability : uint8_t {
  // The store's log is fsynced before the order is sent and before its outcome is delivered:
  // every acknowledged outcome survives a power loss. Costs one fsync per batch (group commit).
  kSync = 0,
  // Written to the log (the kernel's page cache) but not fsynced: survives the strategy process's
  // crash (kill -9), not a power loss or a kernel crash.
  kAsync = 1,
};

struct GatewayOptions {
  // The MT5 bridge's REP endpoint (the MT5-CRS `mt5_zmq_server.py`, or `ordergate-bridge-sim`),
  // connected to and reconnected by the gateway.
  // Default: "tcp://127.0.0.1:5556". REQUIRES: tcp://HOST:PORT, ipc://PATH or inproc://NAME.
  std::string bridge_endpoint = "tcp://127.0.0.1:5556";

  // The idempotency store's directory (created with its parents when missing). One process at a
  // time: a second Open() on it fails with kUnavailable naming the holder.
  // Default: "" (none). REQUIRES: non-empty.
  std::string data_dir;

  // Default: Durability::kSync.
  Durability durability = Durability::kSync;

  // How long the gateway waits for the bridge's reply to an order before the order's outcome is
  // UNKNOWN (delivered to its callback; never resent; resolved later through on_resolved).
  // Default: 6000. REQUIRES: 1..600000, > bridge_signature_ttl_ms + bridge_exec_margin_ms.
  int64_t bridge_timeout_ms = 6000;

  // The bridge's risk-signature TTL: an order still queued at the bridge this long after it was
  // signed is rejected there, never executed. Default: 5000. REQUIRES: 1..600000.
  int64_t bridge_signature_ttl_ms = 5000;

  // How long the bridge may still spend executing an order after its TTL check.
  // Default: 500. REQUIRES: 0..600000.
  int64_t bridge_exec_margin_ms = 500;

  // Requests unanswered at the bridge at once; beyond it an order is refused with
  // error_code "GATEWAY_BUSY" (not recorded: the same uuid may be submitted again).
  // Default: 900. REQUIRES: 1..1000000, < bridge_receive_hwm unless that is 0.
  int64_t bridge_max_in_flight = 900;

  // The bridge socket's receive high-water mark, in messages (libzmq's default, which the MT5-CRS
  // bridge keeps). 0: unlimited. Default: 1000. REQUIRES: 0..10000000.
  int64_t bridge_receive_hwm = 1000;

  // How long FILLED and REJECTED records are kept after their last change (then a retry of the
  // uuid would execute again). UNKNOWN records never expire on their own.
  // Default: 168 (7 days). REQUIRES: 1..87600.
  int64_t retention_hours = 168;

  // How often an UNKNOWN order is asked about (the bridge's ORDER_STATUS, where it has one).
  // Default: 5000. REQUIRES: 100..3600000.
  int64_t unknown_query_interval_ms = 5000;

  // Orders with a larger volume are refused (error_code "INVALID_VOLUME").
  // Default: 1000.0. REQUIRES: > 0 and finite.
  double max_volume = 1000.0;

  // Called once for every order whose outcome was UNKNOWN (delivered earlier to its submitter, in
  // this process or an earlier one on the same data_dir) when it becomes FILLED or REJECTED: a late
  // bridge reply, an ORDER_STATUS answer, or an operator's resolution. The Outcome carries
  // duplicate = false and the final status. Runs on the gateway's pipeline thread, as Submit()'s
  // callbacks do (gateway.h): keep it short and never block in it.
  // Default: empty (resolutions are still recorded; read them with Gateway::Status()).
  std::function<void(const Outcome&)> on_resolved;
};

}  // namespace ordergate

#endif  // ORDERGATE_OPTIONS_H_
