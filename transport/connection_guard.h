// ConnectionGuard: caps the connections of one listening socket (the front end's ROUTER). Internal
// to transport/; FrontEnd owns one.
//
// libzmq has no max-connections option, so the guard combines two of its mechanisms:
//   - a socket monitor on the ROUTER: ZMQ_EVENT_ACCEPTED and ZMQ_EVENT_DISCONNECTED carry the
//     accepted descriptor, so the guard knows exactly which connections are open (handshaking,
//     admitted, or refused and closing);
//   - a ZAP handler (zap_handler.h): with ZMQ_ZAP_DOMAIN set, libzmq asks it about every connection
//     at the end of the ZMTP handshake, before the connection can carry a message. The guard
//     answers 200 while fewer than max_connections are admitted and open, else 400; libzmq then
//     closes the refused connection at once (its descriptor with it) and a libzmq client does not
//     retry it.
// A ZAP request names no descriptor, so a verdict is attributed to the oldest open connection still
// awaiting one (libzmq sends requests in handshake order, which is accept order for like clients).
// When two connections handshake at once and their requests cross, the two verdicts can be
// attributed to each other; the admitted count is then one low from the moment the refused one
// closes until the admitted one closes (never high: a refusal is never attributed to nobody).
//
// With CURVE the same ZAP request also carries the client's public key: the guard admits it only
// when the key is allowlisted, naming the connection CurveUserId(name, key) (its messages'
// "User-Id": the front end splits it back into the identity and the key). ReplaceClients swaps the
// allowlist while connections stay open: the next verdict uses the new one. A connection that
// closes while still awaiting its verdict never completed the handshake (a NULL-mechanism client
// on a CURVE server, a peer that is not ZMTP at all, a handshake timeout): with CURVE it is counted
// as a refused handshake, with its peer's address (getpeername at accept) and the reason of the
// monitor's last HANDSHAKE_FAILED event, if one came.
//
// Threads: the guard runs one thread of its own that blocks in zmq_poll on the ZAP socket, the
// monitor and a stop pipe, so refusals cost the gateway's loop nothing, however many come. The
// ROUTER itself stays with its owner thread: Start() must be called on it before the ROUTER binds,
// and the destructor on it too (it stops the monitor on the ROUTER). stats() is safe from any
// thread (relaxed atomics); ReplaceClients from any thread (a mutex the guard thread also takes,
// briefly, once per verdict).
#ifndef ORDERGATE_TRANSPORT_CONNECTION_GUARD_H_
#define ORDERGATE_TRANSPORT_CONNECTION_GUARD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/io.h"

namespace ordergate::transport {

struct ConnectionGuardStats {
  uint64_t connections_open = 0;      // accepted TCP connections not yet closed (any state)
  uint64_t connections_admitted = 0;  // of those, admitted by ZAP
  uint64_t refused = 0;               // connections refused at the cap since start
  uint64_t accept_failures = 0;       // accept() failures (EMFILE, ENFILE, ...) since start
  uint64_t handshake_failures = 0;    // handshakes that failed (timeout, protocol, refusal)
  // With CURVE only (always 0 without):
  uint64_t curve_unknown_key = 0;       // refused by ZAP: the client's key is not allowlisted
  uint64_t curve_handshake_failed = 0;  // closed before the handshake completed: no key (NULL
                                        // mechanism), not ZMTP at all, too slow, or gone
};

// What the guard enforces.
struct ConnectionGuardOptions {
  int max_connections = 1;
  std::string zap_domain;
  // CURVE: when set, the ROUTER is a CURVE server and ZAP admits only keys of curve_clients, with
  // user_id = the name (the "User-Id" of the connection's messages).
  bool curve = false;
  std::map<std::string, std::string> curve_clients;  // public key (Z85) -> name
  // Called on the guard's thread with a one-line summary of the connections refused (unknown key,
  // failed handshake; not the cap's refusals, which are counted only): at most once per
  // refusal_report_interval_ms, with the count since the last call, the last peer's address and
  // the reason. May be empty. Must not block long (it delays ZAP verdicts) nor throw.
  std::function<void(absl::string_view)> on_refusals;
  int refusal_report_interval_ms = 1000;
};

// The "User-Id" the guard gives an admitted CURVE connection: "NAME KEY" (the certificate's name,
// one space, the client's public key in Z85). Neither part can hold a space (curve_cert.h: names
// are [A-Za-z0-9._-], Z85 has no space), so SplitCurveUserId undoes it exactly.
std::string CurveUserId(absl::string_view name, absl::string_view z85_key);
// {name, key}; {user_id, ""} when it has no space (not made by CurveUserId).
std::pair<absl::string_view, absl::string_view> SplitCurveUserId(absl::string_view user_id);

class ConnectionGuard {
 public:
  // Binds the context's ZAP handler, sets ZMQ_ZAP_DOMAIN opts.zap_domain on `router_handle` (a
  // poll_handle()-style socket handle, not yet bound), starts its monitor and the guard's thread.
  // Blocks only for the thread's start. kAlreadyExists when the context has a ZAP handler already;
  // kInvalidArgument when max_connections < 1 or an allowlisted key is not Z85; kInternal (with
  // message) on libzmq failures.
  static absl::StatusOr<std::unique_ptr<ConnectionGuard>> Start(IoContext& io, void* router_handle,
                                                                ConnectionGuardOptions opts);
  // Stops and joins the thread (promptly: it is woken through its stop pipe), then the monitor.
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  ConnectionGuardStats stats() const;

  // Replaces the allowlist (public key in Z85 -> name; ignored without opts.curve). Any thread;
  // blocks only for the mutex the guard thread holds during one verdict. Connections already
  // admitted are not touched (the front end filters their requests); every verdict after the call
  // returns uses `clients`. kInvalidArgument when a key is not 40 characters of Z85: nothing
  // changes then.
  absl::Status ReplaceClients(const std::map<std::string, std::string>& clients);

 private:
  ConnectionGuard();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_CONNECTION_GUARD_H_
