// ordergate::Client: a strategy's client of the ordergated daemon (its ZeroMQ front end,
// docs/protocol.md section 2) that follows the retry rules by itself: an order's uuid is the same
// on every attempt, PENDING is asked again under that uuid, an UNKNOWN is never resent under a new
// one, and a request whose reply may have been lost with a connection is asked again, never
// dropped. Many orders may be in flight at once, from any number of threads.
//
//   #include "ordergate/client.h"
//
//   ordergate::ClientOptions opts;
//   opts.endpoint = "tcp://127.0.0.1:5555";                // ordergated's --listen
//   auto client = ordergate::Client::Connect(opts);        // blocks for one PING, at most 5 s
//   if (!client.ok()) { /* client.status().message() says why */ }
//
//   ordergate::Order o;  o.symbol = "EURUSD";  o.volume = 0.1;   // o.uuid empty: a UUIDv4 is made
//   std::future<ordergate::Outcome> f = (*client)->Submit(o);
//   (*client)->Submit(o2, [](const ordergate::Outcome& out) { /* on the client's I/O thread */ });
//   ordergate::Outcome out = f.get();        // FILLED, REJECTED or UNKNOWN; out.uuid is the key
//   if (out.status == ordergate::OutcomeStatus::kUnknown) {
//     // may have executed: never a new uuid for this order; ask later
//     auto now = (*client)->Status(out.uuid);   // ORDER_STATUS: the gateway's record of it
//   }
//
// Outcomes. Every Submit() gets exactly one ordergate::Outcome (outcome.h), the same vocabulary as
// the embedded gateway's: kFilled (ticket, price, volume), kRejected (error_code; `recorded` says
// whether the uuid is spent: a bridge refusal is recorded, ordergate's own refusals are not) or
// kUnknown (the order may have executed: the gateway's "BRIDGE_TIMEOUT", or the client's own
// "CLIENT_DEADLINE" / "CLIENT_CLOSED" when no final outcome came in time). Never PENDING.
// Outcome::reply_json is the gateway's last reply as it came (empty when the client decided).
//
// How each order is asked (the wire contract, sections 2 and 3):
//   - Each attempt sends the OPEN/CLOSE with `timeout_ms` = the attempt timeout (below). ordergated
//     answers by timeout_ms − reply_margin_ms with the outcome or PENDING; the client waits for
//     that reply timeout_ms + a grace of max(100 ms, timeout_ms / 10), so PENDING always reaches it
//     before it gives up on the attempt.
//   - On PENDING it sends the same OPEN/CLOSE again, same uuid (not ORDER_STATUS): a resend of a
//     uuid in flight joins the original at the gateway and is answered the moment the outcome is
//     known (a long poll, where ORDER_STATUS would be a poll answered at once), and if the gateway
//     lost the request before reserving it (a crash), the resend is what submits it, once.
//   - No reply within the attempt's wait (a lost message, a gateway restarting), or the connection
//     dropped and came back (the client watches its socket's connects and disconnects): the same
//     request again, same uuid. The gateway's idempotency guard makes every resend safe: it joins
//     the order, replays its recorded outcome, or answers UNKNOWN, and never executes it twice.
//   - "Not now" refusals (REJECTED "GATEWAY_BUSY" or "BRIDGE_DOWN", error "STORE_UNAVAILABLE":
//     nothing recorded, nothing sent) are retried with the same uuid after 50 ms, doubling up to
//     1 s, when ClientOptions::retry_not_now is set.
//   - This ends at a final outcome or at the order's deadline (ClientOptions::order_deadline_ms, or
//     Submit's deadline_ms), whichever is first. At the deadline the outcome is the last not-now
//     refusal if that is all the gateway said, else kUnknown "CLIENT_DEADLINE".
//   - UNKNOWN is final for Submit(): the client resends nothing for it, ever. Status(uuid) asks the
//     gateway's record later (ordergated resolves UNKNOWN orders with the bridge by itself).
//
// Timeout alignment. Connect() sends PING and reads the gateway's `client_timeout_ms` and
// `bridge_timeout_ms` (the `gateway` object of its reply; gateway_info()). The attempt timeout is
// ClientOptions::request_timeout_ms, or the gateway's client_timeout_ms when that is 0; the default
// order deadline is bridge_timeout_ms + 2 × the attempt timeout + 1 s, so that an order the bridge
// never answers reaches the client as the gateway's UNKNOWN rather than as the client's deadline.
//
// Threads. Connect() starts the client's one I/O thread, which owns the DEALER socket (and a
// ZeroMQ context of its own with one libzmq I/O thread), every request in flight and their timers,
// and runs every callback. Callers' threads only queue work for it (a mutex-guarded queue and an
// eventfd) and never touch the socket.
//
// Thread-safety: every method may be called from any thread at once. From a callback (the I/O
// thread) Submit() with a callback is fine; SubmitAndWait(), Status() and Close() would wait for
// the thread they run on and refuse instead (see each).
//
// Durability: the client keeps nothing on disk. What is durable is the gateway's: an order is
// reserved durably at ordergated before it is sent to the bridge, and its outcome before it is
// answered. A strategy that restarts resubmits its own uuids (the same ones: it must keep them) and
// gets each order's recorded outcome, or joins it.
#ifndef ORDERGATE_CLIENT_H_
#define ORDERGATE_CLIENT_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ordergate/order.h"
#include "ordergate/outcome.h"

namespace ordergate {

struct ClientOptions {
  // ordergated's front end (its --listen), connected to and reconnected by the client.
  // Default: "tcp://127.0.0.1:5555". REQUIRES: tcp://HOST:PORT or ipc://PATH.
  std::string endpoint = "tcp://127.0.0.1:5555";

  // How long Connect() waits for the gateway's PING reply. Default: 5000. REQUIRES: 1..600000.
  int64_t connect_timeout_ms = 5000;

  // Each attempt's timeout_ms (sent with the request; the client waits this plus its grace).
  // Default: 0, the gateway's client_timeout_ms from PING. REQUIRES: 0 or 20..600000.
  int64_t request_timeout_ms = 0;

  // How long Submit() keeps asking for an order's final outcome, unless the call gives its own.
  // Default: 0, bridge_timeout_ms + 2 × the attempt timeout + 1000 (see "Timeout alignment").
  // REQUIRES: 0..86400000.
  int64_t order_deadline_ms = 0;

  // Retry REJECTED "GATEWAY_BUSY" / "BRIDGE_DOWN" and error "STORE_UNAVAILABLE" (nothing recorded,
  // nothing sent) with the same uuid until the deadline. Default: true. false: they are final.
  bool retry_not_now = true;

  // CurveZMQ, for a gateway that speaks it (its curve_secret_cert; docs/SECURITY.md). Both or
  // neither; default: neither (plain ZMTP, as before).
  // The gateway's public key: its 40 characters of Z85 (ordergated logs it at start), or the path
  // of its public certificate (czmq's format: `ordergatectl keygen gateway DIR` writes
  // DIR/gateway.key).
  std::string curve_server_key;
  // This client's secret certificate (`ordergatectl keygen NAME DIR` writes DIR/NAME.key_secret),
  // mode 0600: group or others able to read it refuse Connect(). Its public half must be in the
  // gateway's curve_clients_dir, where its metadata.name is this client's identity; a key the
  // gateway does not know gets no PING reply (kUnavailable).
  std::string curve_secret_cert;
};

// What the gateway said of itself in its last PING reply (docs/protocol.md section 2).
struct GatewayInfo {
  std::string version;
  bool bridge_up = false;
  int64_t client_timeout_ms = 0;  // its reply deadline for a request without timeout_ms
  int64_t bridge_timeout_ms = 0;  // how long it waits for the bridge before UNKNOWN
  std::string durability;         // "sync" or "async"
};

// Counters since Connect(), each exact, the set not one snapshot.
struct ClientStats {
  uint64_t submitted = 0;          // Submit() calls (all three forms)
  uint64_t sends = 0;              // OPEN/CLOSE requests written to the socket, resends included
  uint64_t pending_replies = 0;    // PENDING replies (each followed by a resend of the same uuid)
  uint64_t silent_resends = 0;     // resends after an attempt's wait passed without a reply
  uint64_t not_now_retries = 0;    // resends after GATEWAY_BUSY / BRIDGE_DOWN / STORE_UNAVAILABLE
  uint64_t reconnects = 0;         // connections re-established after a disconnect
  uint64_t unmatched_replies = 0;  // replies for no request in flight (late copies of a resend)
  uint64_t in_flight = 0;          // orders without their final outcome, now
};

class Client {
 public:
  using Callback = std::function<void(const Outcome&)>;

  // Checks `options`, connects a DEALER to options.endpoint, starts the I/O thread and sends PING.
  // Blocks until the PING reply, at most connect_timeout_ms. Results (with messages):
  //   kInvalidArgument: an option out of range, or an endpoint ZeroMQ refuses; one CURVE option
  //     without the other, or a certificate that cannot be used (the message names the file);
  //   kUnavailable: no PING reply within connect_timeout_ms (nothing listens, or not ordergated);
  //   kInternal: a ZeroMQ context, socket or eventfd could not be made.
  // The gateway's bridge need not be up (gateway_info().bridge_up says; orders are retried on
  // BRIDGE_DOWN while retry_not_now is set).
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  // Close(), then frees everything. Never throws.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // A new UUIDv4 (RFC 9562: 122 bits from libsodium's randombytes_buf, the kernel's CSPRNG),
  // e.g. "0b5e3c1e-8f5a-4d7e-9b1c-2a4f6e8d0c3b": a valid order uuid. Never blocks. Thread-safe.
  static std::string NewUuid();

  // Queues `order` and returns at once (never blocks on the network). An empty order.uuid gets
  // NewUuid() (Outcome::uuid says which); a given one must be 1-64 characters of [A-Za-z0-9._:-]
  // (else kRejected "INVALID_UUID", nothing sent), as must be non-finite numbers (kRejected
  // "INVALID_VOLUME" / "INVALID_PRICE"); the other fields are checked by the gateway. `done` is
  // called exactly once with the final Outcome (see the top of this file), on the I/O thread, or
  // on the calling thread before Submit() returns when the order is refused as above or the client
  // is closed (kRejected "CLIENT_CLOSED", nothing sent). A uuid already in flight at this client
  // joins it (both get its outcome, the later one with duplicate = true) when the order is the
  // same, and is refused with kRejected "IDEMPOTENCY_CONFLICT" (not recorded) when it differs.
  // `deadline_ms` > 0 replaces ClientOptions::order_deadline_ms for this order. `done` must not
  // throw or block (it holds up every reply); it may call Submit().
  void Submit(const Order& order, Callback done, int64_t deadline_ms = 0);

  // The same, with the Outcome through a future.
  std::future<Outcome> Submit(const Order& order, int64_t deadline_ms = 0);

  // Submit() and wait for its Outcome (at most the order's deadline plus a moment). From a
  // callback it would wait forever: it returns kRejected "CALLED_FROM_CALLBACK" instead, sending
  // nothing.
  Outcome SubmitAndWait(const Order& order, int64_t deadline_ms = 0);

  // Asks the gateway's record of `uuid` (ORDER_STATUS, which never causes an order to be sent) and
  // waits for the answer, asking again after each attempt's wait without a reply, at most
  // `timeout_ms` (0: the attempt timeout, then twice more). Results:
  //   the recorded Outcome (kFilled, kRejected, kUnknown; duplicate = true), or kInFlight while
  //   the order is in flight at the gateway (PENDING) or at this client (answered without asking);
  //   nullopt: the gateway has no record (never accepted, refused before sending, or expired);
  //   errors (code and message): kInvalidArgument for a uuid outside the wire's rules,
  //   kDeadlineExceeded without an answer in time, kUnavailable when the gateway cannot read its
  //   store or the client is closed, kFailedPrecondition from a callback (it would wait forever).
  absl::StatusOr<std::optional<Outcome>> Status(const std::string& uuid, int64_t timeout_ms = 0);

  // The gateway as its PING reply at Connect() described it. Never blocks.
  GatewayInfo gateway_info() const;
  // The attempt timeout in use (see "Timeout alignment"). Never blocks.
  int64_t request_timeout_ms() const;
  // Never blocks. After Close(): the counters as Close() left them.
  ClientStats stats() const;

  // Stops the I/O thread and closes the socket. Every order still without its final outcome gets
  // kUnknown "CLIENT_CLOSED" (it may be in flight at the gateway: ask Status() from another client,
  // never a new uuid); every Status() waiting returns kUnavailable. Blocks until the I/O thread has
  // run those callbacks and ended (from a callback: only asks it to stop, and returns). Idempotent.
  void Close();

 private:
  Client();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate

#endif  // ORDERGATE_CLIENT_H_
