// Gateway: the order pipeline between strategies (transport::FrontEnd, or in-process submissions
// through StartEmbedded) and the MT5 bridge (transport::BridgeLink), guarded by the idempotency
// store. Two stages (docs/ARCHITECTURE.md): Run()'s thread decides everything, and the journal
// thread (gateway/journal.h) writes the store batches, so the loop never waits for the disk:
//
//   drain what has arrived -> gather the new reservations into ONE store batch (one fsync: group
//   commit) -> hand it to the journal, and meanwhile forward the previous batch's reservations to
//   the bridge and answer its outcomes -> record bridge outcomes (same batch discipline) -> answer.
//
//   absl::StatusOr<std::unique_ptr<Gateway>> gw = Gateway::Start(config);   // start-up: may fail
//   std::thread loop([&] { (*gw)->Run(); });
//   ...
//   (*gw)->Stop();   // from any thread or a signal handler
//   loop.join();
//
// Invariants (docs/protocol.md, section 3), each with the code that holds it:
//  - at most once per uuid: a uuid is forwarded only after its reservation was kApplied in the
//    store, which refuses a second reservation of a key (kExists);
//  - nothing is sent before its reservation is durable: Send happens only after Apply() returned
//  OK;
//  - an UNKNOWN is never resent: UNKNOWN orders are only asked about (ORDER_STATUS), never re-sent,
//    and a reply (late, or to the question) moves them to FILLED/REJECTED;
//  - fail closed: when the store cannot write, STORE_UNAVAILABLE and nothing is sent.
// Thread-safety: Run() on one thread; Stop(), ready(), bridge_up(), counters(), stage_latency()
// from any thread.
#ifndef ORDERGATE_GATEWAY_GATEWAY_H_
#define ORDERGATE_GATEWAY_GATEWAY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/clock.h"
#include "gateway/config.h"
#include "gateway/embedded_port.h"
#include "gateway/latency_histogram.h"
#include "gateway/operator_resolution.h"
#include "gateway/risk_limits.h"
#include "gateway/shared_guard.h"
#include "idempotency/store.h"
#include "transport/bridge_port.h"
#include "transport/front_end.h"

namespace ordergate::gateway {

class MinuteWindows;  // gateway/minute_windows.h

// Monotonic counters, readable from any thread (relaxed: each is exact, the set is not a snapshot).
struct GatewayCounters {
  std::atomic<uint64_t> requests{0};          // bodies received on the front end
  std::atomic<uint64_t> orders_submitted{0};  // OPEN/CLOSE forwarded to the bridge
  std::atomic<uint64_t> orders_filled{0};
  std::atomic<uint64_t> orders_rejected{0};   // recorded bridge rejections
  std::atomic<uint64_t> orders_unknown{0};    // RESERVED -> UNKNOWN at bridge_timeout_ms
  std::atomic<uint64_t> unknown_resolved{0};  // UNKNOWN -> FILLED/REJECTED
  std::atomic<uint64_t> duplicates{0};        // replies with duplicate:true
  std::atomic<uint64_t> conflicts{0};         // IDEMPOTENCY_CONFLICT
  std::atomic<uint64_t> denied{0};  // refused by ordergate (validation, busy, down, store)
  std::atomic<uint64_t> store_unavailable{0};
  std::atomic<uint64_t> pending_replies{0};  // PENDING at a request's deadline
  std::atomic<uint64_t> relays{0};           // GET_ACCOUNT / GET_POSITIONS forwarded
  std::atomic<uint64_t> relay_timeouts{0};
  std::atomic<uint64_t> dropped_frames{0};  // malformed envelopes the contract cannot answer
  std::atomic<uint64_t> store_batches{0};  // Apply() calls that wrote (one fsync each in sync mode)
  std::atomic<uint64_t> recovered_unknown{0};  // RESERVED -> UNKNOWN when the store opened
  // Bridge replies to an order that could not be acted on (unparseable, another uuid, an error that
  // may follow an execution). Counted, and logged only at info: nothing per order at warn.
  std::atomic<uint64_t> bridge_anomalies{0};
  // GATEWAY_BUSY because the bridge's queue held what it can serve within the signature TTL
  // (BridgeCapacity), orders and relays alike.
  std::atomic<uint64_t> busy_bridge_capacity{0};
  // OPEN/CLOSE sent to the bridge for an order that had already been sent: 0 by construction (a
  // uuid is sent once, after its reservation); counted at the send so that an alert would see a
  // regression of the at-most-once invariant rather than trust it.
  std::atomic<uint64_t> duplicate_sends{0};
  // RISK_LIMIT refusals, by the limit that refused (index: RiskLimit; kNone stays 0).
  std::array<std::atomic<uint64_t>, kRiskLimitCount> risk_refusals{};
};

// The audit log's counters (gateway/audit_log.h); all 0 when it is off.
struct AuditLogStats {
  bool enabled = false;
  uint64_t lines_written = 0;
  uint64_t lines_dropped = 0;
  uint64_t write_errors = 0;
};

class Gateway {
 public:
  // Validates `cfg` (a misaligned configuration fails here, naming the rule), opens the store
  // (moving every RESERVED record to UNKNOWN), binds the front end and starts connecting to the
  // bridge. Blocks for the store's recovery. Errors carry messages (start-up path).
  // guard = "postgres" (gateway/shared_guard.h): the shared store is opened instead, the lease of
  // cfg.gateway_id acquired (kAlreadyExists naming it when another live gateway holds it) and only
  // this gateway's RESERVED records recovered; the lease's heartbeat starts with Run() and the
  // lease is released when Run() returns. kUnimplemented when this program does not link the
  // PostgreSQL guard (the embedded library never does).
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(const GatewayConfig& cfg);

  // The same over a store the caller opened (a shared backend, or a fault-injecting one in tests);
  // cfg.data_dir, durability and retention are then the store's business. The store must already
  // have recovered (RESERVED -> UNKNOWN): every RESERVED record it lists is treated as UNKNOWN.
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(const GatewayConfig& cfg,
                                                        std::unique_ptr<idempotency::Store> store);

  // The same with the pipeline's time read from `clock` (gateway/clock.h), which must outlive the
  // Gateway; `store` may be null (the RocksDB store of cfg.data_dir is opened). For tests that move
  // deadlines by moving time, and for simulation.
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(const GatewayConfig& cfg,
                                                        std::unique_ptr<idempotency::Store> store,
                                                        const Clock& clock);
  // In-process: the same pipeline without a front end (nothing is bound; `cfg.listen` is unused),
  // fed by SubmitEmbedded() and answering through `sink` (gateway/embedded_port.h), which must
  // outlive the Gateway. Errors as Start(). The public ordergate::Gateway is built on this.
  static absl::StatusOr<std::unique_ptr<Gateway>> StartEmbedded(const GatewayConfig& cfg,
                                                                EmbeddedSink* sink);
  // Thread-safe; never blocks on the pipeline. Queues `s` (a decoded OPEN/CLOSE); its one reply
  // comes through the sink's Deliver(s.id, ...). False when the gateway is not in-process or no
  // longer takes submissions (Run() returned or is returning): nothing queued, the caller answers.
  bool SubmitEmbedded(const EmbeddedSubmission& s) const;

  // The deterministic simulation's gateway (tests/simulation): the same pipeline, in-process like
  // StartEmbedded, over the caller's bridge port, store and clock, with no socket and no thread of
  // its own. Nothing happens unless the caller drives it: Turn() takes one turn of the loop, and a
  // batch handed to the journal is written only by WriteJournal(). So one thread runs the whole
  // gateway, and a seeded run replays exactly. Errors as Start(). `sink` must outlive the Gateway.
  // A crash is simulated by destroying the Gateway without Stop(): nothing more is answered,
  // sent or written.
  // `front` (optional) is a second door, speaking the wire (section 2) as the ZeroMQ front end
  // would: requests with reply deadlines, PENDING, ORDER_STATUS.
  static absl::StatusOr<std::unique_ptr<Gateway>> StartSimulated(
      const GatewayConfig& cfg, std::unique_ptr<idempotency::Store> store, EmbeddedSink* sink,
      const Clock& clock, std::unique_ptr<transport::BridgePort> bridge,
      std::unique_ptr<transport::RequestPort> front = nullptr);
  // A simulated gateway only. One turn at the clock's now: bridge events, deadlines, submissions,
  // journal hand-overs, replies. Never blocks. True once Stop() was asked and the pipeline has
  // drained (or given up at its stop deadline): the gateway has then answered everyone and the
  // caller destroys it.
  bool Turn();
  // A simulated gateway only: writes the batch handed to the journal, if any (the simulated disk
  // finished it); the next Turn() sees it written. True when there was one. Blocks for
  // Store::Apply.
  bool WriteJournal();
  // A simulated gateway only: a batch is being written (WriteJournal() has work).
  bool JournalBusy() const;
  // A simulated gateway only: does the store reads queued for requests (gateway/store_reader.h;
  // the simulated read latency passed); the next Turn() answers them. True when there were any.
  // Blocks for Store::Lookup.
  bool ReadStore();
  // A simulated gateway only: store reads are queued (ReadStore() has work).
  bool StoreReadsQueued() const;
  // A simulated gateway only: the latest clock reading (steady ns) by which the loop wants its next
  // Turn() even if nothing arrives (a deadline; at most 20 ms ahead, as Run()'s poll).
  int64_t NextTurnNs() const;
  ~Gateway();

  // Runs the event loop on the calling thread until Stop(): then it stops taking orders (new
  // OPEN/CLOSE get GATEWAY_BUSY), waits for in-flight orders up to their bridge deadline, answers
  // their waiting clients, and returns OK. Returns an error if the loop itself cannot poll, and
  // kAborted when the shared guard's lease was lost (the database saw it expire: another gateway
  // may already treat this one's orders as UNKNOWN): it drains as on Stop() and returns, because
  // only a new process can take a fresh lease; ordergated exits 75 then, for its supervisor.
  absl::Status Run();

  // Async-signal-safe and thread-safe: asks Run() to drain and return.
  void Stop();

  // The front-end endpoint actually bound (resolves a wildcard port).
  const std::string& front_endpoint() const;
  bool ready() const;      // Run() is serving and not draining
  bool bridge_up() const;  // the bridge link has a live connection
  // Milliseconds since the last reply from the bridge (any request), -1 before the first.
  int64_t bridge_reply_age_ms() const;
  // Requests that may wait at the bridge now (BridgeCapacity::Limit) and the measured service
  // time per request (0 before the first reply); see gateway/bridge_capacity.h.
  uint64_t bridge_capacity() const;
  int64_t bridge_service_us() const;
  // The front end's connection and drop counters (transport/front_end.h), from any thread while
  // the Gateway exists; max_connections is the cap in force.
  transport::FrontEndStats front_end_stats() const;
  int front_end_max_connections() const;
  uint64_t in_flight() const;  // orders reserved and not yet terminal or UNKNOWN
  const GatewayCounters& counters() const;
  const GatewayConfig& config() const;
  // Per-stage latency histograms, recorded by Run()'s thread; read them from any thread with
  // stage_latency().Snapshot() (consistent per stage, never blocks the loop). Stage definitions:
  // see StageLatency and the recording points in gateway.cc.
  const StageLatency& stage_latency() const;
  // The rolling per-minute windows (gateway/minute_windows.h), kept 24 h and persisted with the
  // store: Read() them from any thread (never blocks the loop).
  const MinuteWindows& minute_windows() const;

  // Operator resolution (gateway/operator_resolution.h), for the admin interface. Thread-safe;
  // const because, like the getters above, it is reached through the const Gateway& the HTTP
  // endpoint holds: it changes nothing itself but hands `r` to Run()'s thread, which owns the
  // orders. That thread applies it between two iterations (at most kMaxPollMs apart) as the
  // transition UNKNOWN -> FILLED | REJECTED of the table in idempotency/record.h, through the
  // store, and forgets the in-memory order as it does a resolved one. Blocks until then (one store
  // write), at most 2 x `wait`. Results, each with a message for the operator:
  //   OK: durable (sync: fsynced) before it returns; every later submission of the uuid, and
  //     ORDER_STATUS, replay result->reply with duplicate:true; counted in orders_filled or
  //     orders_rejected and unknown_resolved; logged at info with who, what and when.
  //   kInvalidArgument: CheckResolution refused a field. kNotFound: the store has no record of the
  //     uuid. kFailedPrecondition: the order is not UNKNOWN (RESERVED: at the bridge; FILLED or
  //     REJECTED: settled), or a bridge outcome for it is being written right now. Nothing changed.
  //   kUnavailable: the store could not write, the gateway is stopping, or the loop did not take
  //     the request within `wait`; not recorded (after a failed store write a restart may still
  //     find it, as for any failed batch: look the order up).
  //   kDeadlineExceeded: taken but not finished within `wait`: look the order up.
  absl::StatusOr<ResolutionResult> ResolveUnknown(const Resolution& r,
                                                  absl::Duration wait = absl::Seconds(2)) const;
  // The store's RESERVED and UNKNOWN records (Store::ListInFlight: proportional to their number,
  // one consistent point in time) and one record by its store key (Store::Lookup: the uuid, or
  // with CURVE the client's name and the uuid, transport/order_scope.h), read on the calling
  // thread; terminal records are not indexed, so they are found only one at a time. Thread-safe;
  // statuses as the store's.
  absl::StatusOr<std::vector<idempotency::Record>> ListInFlightOrders() const;
  absl::StatusOr<std::optional<idempotency::Record>> LookupOrder(absl::string_view key) const;
  // The token read from cfg.admin_token_file at Start() ("" when none): gateway/admin_access.h.
  const std::string& admin_token() const;

  // New pre-trade limits (gateway/risk_limits.h), e.g. a reload on SIGHUP. Thread-safe; never
  // blocks on the pipeline: the table is handed to Run()'s thread, which applies it before the
  // next request it handles (a later call replaces one not yet applied). Every client's state —
  // its rate bucket, in-flight count and minute window — is kept; no connection or order is
  // touched. Before Run() starts, the first turn applies it before any request.
  void ReplaceLimits(LimitsTable table) const;
  // A new CURVE allowlist (public key in Z85 -> name), e.g. curve_clients_dir re-read on SIGHUP
  // (gateway/front_end_security.h): transport::FrontEnd::ReplaceCurveClients, whose contract it
  // is (new handshakes judged by it at once, a removed key's open connections stop being read, no
  // connection or order touched); returns the previous list. Thread-safe, never blocks on the
  // pipeline. kFailedPrecondition without a CURVE front end (no CURVE, or an embedded gateway).
  absl::StatusOr<std::map<std::string, std::string>> ReplaceCurveClients(
      std::map<std::string, std::string> clients) const;
  // The audit log's counters, from any thread.
  AuditLogStats audit_log_stats() const;
  // The shared guard's lease (gateway/shared_guard.h), from any thread; nullopt with RocksDB.
  std::optional<SharedGuardStats> shared_guard_stats() const;

 private:
  Gateway();
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(
      const GatewayConfig& cfg, std::unique_ptr<idempotency::Store> store, EmbeddedSink* sink,
      const Clock& clock, std::unique_ptr<transport::BridgePort> bridge = nullptr,
      std::unique_ptr<transport::RequestPort> front = nullptr);
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_GATEWAY_H_
