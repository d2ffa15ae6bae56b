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
// Threads: the guard runs one thread of its own that blocks in zmq_poll on the ZAP socket, the
// monitor and a stop pipe, so refusals cost the gateway's loop nothing, however many come. The
// ROUTER itself stays with its owner thread: Start() must be called on it before the ROUTER binds,
// and the destructor on it too (it stops the monitor on the ROUTER). stats() is safe from any
// thread (relaxed atomics).
#ifndef ORDERGATE_TRANSPORT_CONNECTION_GUARD_H_
#define ORDERGATE_TRANSPORT_CONNECTION_GUARD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "transport/io.h"

namespace ordergate::transport {

struct ConnectionGuardStats {
  uint64_t connections_open = 0;      // accepted TCP connections not yet closed (any state)
  uint64_t connections_admitted = 0;  // of those, admitted by ZAP
  uint64_t refused = 0;               // connections refused at the cap since start
  uint64_t accept_failures = 0;       // accept() failures (EMFILE, ENFILE, ...) since start
  uint64_t handshake_failures = 0;    // handshakes that failed (timeout, protocol, refusal)
};

class ConnectionGuard {
 public:
  // Binds the context's ZAP handler, sets ZMQ_ZAP_DOMAIN `zap_domain` on `router_handle` (a
  // poll_handle()-style socket handle, not yet bound), starts its monitor and the guard's thread.
  // Blocks only for the thread's start. kAlreadyExists when the context has a ZAP handler already;
  // kInvalidArgument when max_connections < 1; kInternal (with message) on libzmq failures.
  static absl::StatusOr<std::unique_ptr<ConnectionGuard>> Start(IoContext& io, void* router_handle,
                                                                int max_connections,
                                                                const std::string& zap_domain);
  // Stops and joins the thread (promptly: it is woken through its stop pipe), then the monitor.
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  ConnectionGuardStats stats() const;

 private:
  ConnectionGuard();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_CONNECTION_GUARD_H_
