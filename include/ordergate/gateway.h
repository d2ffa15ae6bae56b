// ordergate::Gateway: the order execution gateway linked into a strategy process. The same
// pipeline as the ordergated daemon (which is this class plus a ZeroMQ front end): every order
// is reserved in a durable idempotency store before it is sent to the MT5 bridge, its outcome is
// durable before it is delivered, and a uuid executes at most once across calls, threads and
// restarts of the process on the same data directory.
//
//   #include "ordergate/gateway.h"
//
//   ordergate::GatewayOptions opts;
//   opts.bridge_endpoint = "tcp://127.0.0.1:5556";
//   opts.data_dir = "/var/lib/my-strategy/ordergate";
//   absl::StatusOr<std::unique_ptr<ordergate::Gateway>> gw = ordergate::Gateway::Open(opts);
//   if (!gw.ok()) { /* gw.status().message() says why (start-up: a bad option, a store in use) */ }
//
//   ordergate::Order o;  o.uuid = "s1-000001";  o.symbol = "EURUSD";  o.volume = 0.1;
//   (*gw)->Submit(o, [](const ordergate::Outcome& out) { /* on the pipeline thread */ });
//   ordergate::Outcome out = (*gw)->SubmitAndWait(o);   // the same uuid: joins, or replays
//
// Logs go through spdlog's default logger (ordergate adds no dependency of its own to the API):
// a process that has not named its default logger gets ordergate's line format on stderr at Open(),
// so the library never writes to the strategy's stdout.
//
// Threads. Open() starts the gateway's own threads (docs/ARCHITECTURE.md): the pipeline thread,
// which owns every order in memory, the bridge socket and every decision; and the journal thread,
// which owns the store's writes (one batch at a time, fsynced under Durability::kSync) so that the
// pipeline keeps gathering, sending and answering while a batch is on its way to disk; and the
// reader thread, which does the store reads that answering some submissions needs (a refused
// resend answered from its record), so that a read waiting for the disk holds only that
// submission. The strategy needs no thread of its own and never drives a Poll().
//
// Outcomes. Every Submit() gets exactly one Outcome: FILLED, REJECTED (with its error code; see
// outcome.h for which are recorded) or UNKNOWN. Never PENDING: the callback or SubmitAndWait() is
// simply reached later, at the latest bridge_timeout_ms after the order was sent. An UNKNOWN
// becomes FILLED or REJECTED later, reported through GatewayOptions::on_resolved.
//
// Thread-safety: every method may be called from any thread at once, including from a callback
// (except SubmitAndWait() and Close(), which would wait for the thread they run on).
#ifndef ORDERGATE_GATEWAY_H_
#define ORDERGATE_GATEWAY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ordergate/options.h"
#include "ordergate/order.h"
#include "ordergate/outcome.h"

namespace ordergate {

// Counters since Open(), each exact, the set not one snapshot.
struct GatewayStats {
  uint64_t submitted = 0;      // Submit() calls
  uint64_t sent = 0;           // orders sent to the bridge (each uuid once)
  uint64_t filled = 0;         // FILLED outcomes recorded (incl. resolved UNKNOWNs)
  uint64_t rejected = 0;       // bridge rejections recorded (incl. resolved UNKNOWNs)
  uint64_t unknown = 0;        // orders that became UNKNOWN
  uint64_t duplicates = 0;     // outcomes delivered with duplicate = true
  uint64_t refused = 0;        // refused by ordergate before sending (not recorded)
  uint64_t store_batches = 0;  // store writes (one fsync each under kSync)
  uint64_t in_flight = 0;      // reserved and not yet terminal or UNKNOWN, now
  bool bridge_up = false;      // the bridge link has a live connection, now
};

class Gateway {
 public:
  using Callback = std::function<void(const Outcome&)>;

  // Checks `options`, opens the store (an order that was at the bridge when an earlier process
  // stopped becomes UNKNOWN: it is asked about, never resent), starts the pipeline and journal
  // threads and begins connecting to the bridge. Blocks for the store's recovery (proportional to
  // the orders that were in flight), not for the bridge: orders submitted before the link is up
  // are refused with "BRIDGE_DOWN" (not recorded). Results (with messages):
  //   kInvalidArgument: an option out of range or a violated timeout rule, named;
  //   kUnavailable: the data directory is in use (by whom) or cannot be created or written;
  //   kDataLoss / kFailedPrecondition: the store is damaged or of another format; nothing was
  //     written (docs/STORE_RECOVERY.md says what an operator can do).
  static absl::StatusOr<std::unique_ptr<Gateway>> Open(const GatewayOptions& options);

  // Close(), then frees everything. Never throws.
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Queues `order` and returns at once (never blocks on the disk or the bridge; the order's fields
  // are checked and copied on the calling thread). `done` is called exactly once with the order's
  // Outcome, on the pipeline thread — or on the calling thread, before Submit() returns, when the
  // order is refused by its fields or the gateway is closed ("GATEWAY_BUSY"). A uuid submitted
  // while the same uuid is in flight joins it: both callbacks get its outcome, the later with
  // duplicate = true. Durable when `done` runs: the outcome (kFilled, recorded kRejected, kUnknown)
  // is in the store at the configured durability — except kUnknown "GATEWAY_STOPPED", delivered
  // when the gateway closes before the outcome could be written: the record then stays RESERVED
  // and is UNKNOWN at the next Open() on the data directory, never resent. `done` must not throw
  // (an exception escaping it ends the process, as from any thread's top) and must not block (it
  // holds up every order) and must not call SubmitAndWait() or Close(); it may call Submit().
  void Submit(const Order& order, Callback done);

  // Submit() and wait for the Outcome: blocks until it is known, normally at most
  // bridge_timeout_ms plus the time to write it after the order was sent; longer while the store
  // fails (an outcome is retried every 100 ms and delivered once durable) or until Close(). Called
  // from a callback (the pipeline thread) it would wait forever: it returns kRejected with
  // error_code "GATEWAY_BUSY" and a message instead.
  Outcome SubmitAndWait(const Order& order);

  // What the store holds for `uuid` now (a point read on the calling thread; blocks on the disk at
  // worst): nullopt when it has no record (never accepted, refused before sending, or expired after
  // retention); kInFlight while reserved; else the recorded outcome (duplicate = true). Errors
  // (code only): kUnavailable when the store cannot be read or the gateway is closed (Close()
  // released the store), kDataLoss when the record cannot be decoded, kInvalidArgument for an
  // empty uuid.
  absl::StatusOr<std::optional<Outcome>> Status(const std::string& uuid) const;

  // Never blocks on the pipeline. After Close(): the counters as Close() left them.
  GatewayStats stats() const;

  // Stops taking orders (later submissions: "GATEWAY_BUSY"), waits for the orders at the bridge
  // up to their bridge deadline (each gets its Outcome: FILLED, REJECTED or UNKNOWN), writes a
  // clean close to the store and stops the threads. Blocks for at most bridge_timeout_ms + 1 s
  // plus the store's close. Idempotent. OK, or the first error the pipeline met (the store could
  // not be closed cleanly, or the pipeline's poll failed); either way every callback has run.
  absl::Status Close();

 private:
  Gateway();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate

#endif  // ORDERGATE_GATEWAY_H_
