// Gateway::Loop: the order pipeline's state and its steps, shared by the files that implement it.
// Private to gateway/: included only by gateway.cc (start-up, the loop, the public Gateway calls),
// gateway_requests.cc (what strategies send, and the replies), gateway_bridge.cc (what goes to
// and comes from the bridge) and gateway_outcomes.cc (the store batch and operator resolutions).
// Everything here is owned by the loop's thread unless a member says otherwise (gateway.h).
#ifndef ORDERGATE_GATEWAY_GATEWAY_LOOP_H_
#define ORDERGATE_GATEWAY_GATEWAY_LOOP_H_

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gateway/admin_access.h"
#include "gateway/admission.h"
#include "gateway/audit_log.h"
#include "gateway/batch_rules.h"
#include "gateway/bridge_capacity.h"
#include "gateway/bridge_reply_rules.h"
#include "gateway/clock.h"
#include "gateway/embedded_port.h"
#include "gateway/gateway.h"
#include "gateway/journal.h"
#include "gateway/minute_windows.h"
#include "gateway/order_lifecycle.h"
#include "gateway/risk_limits.h"
#include "gateway/shared_guard.h"
#include "gateway/store_reader.h"
#include "idempotency/store.h"
#include "spdlog/spdlog.h"
#include "transport/bridge_link.h"
#include "transport/codec.h"
#include "transport/front_end.h"
#include "transport/io.h"
#include "transport/order.h"
#include "transport/order_scope.h"
#include "transport/relay_uuid.h"
#include "transport/signing.h"

namespace ordergate::gateway {

// Types of the loop's own state, private to gateway/*.cc (the loop is split by idea across
// gateway.cc, gateway_requests.cc, gateway_bridge.cc and gateway_outcomes.cc).
namespace loop_types {

using idempotency::Change;
using idempotency::ChangeOutcome;
using idempotency::ChangeResult;
using idempotency::Record;
using idempotency::RecordEvent;
using idempotency::RecordState;
using transport::BridgeEvent;
using transport::BridgeEventKind;
using transport::ReplyRoute;

inline constexpr int64_t kNsPerMs = 1000000;
inline constexpr int64_t kQueryTimeoutMs = 2000;
inline constexpr int64_t kStoreRetryMs = 100;
// After a store read fails, reads are answered "unavailable" without trying for this long (the
// loop's own, ReadRecord; the requests', StoreReader's pause_ms): a database gone silent holds each
// read for its whole call deadline, which must not be paid once per request.
inline constexpr int64_t kStoreReadPauseMs = 500;
inline constexpr int kMaxPollMs = 20;
inline constexpr int64_t kForeignPollMs = 30;
inline constexpr absl::string_view kVersion = "0.1.0";

// fmt cannot print Debian's absl::string_view (its own type); logs go through this.
inline std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }

inline constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

struct Waiter {
  ReplyRoute route;
  int64_t received_ns = 0;
  int64_t deadline_ns = 0;   // kNoDeadline: in-process, waits for the outcome (never PENDING)
  bool original = false;     // the submission that reserved the key; the rest joined it
  uint64_t embedded_id = 0;  // > 0: an in-process submission, answered through EmbeddedSink
  Envelope envelope = Envelope::kBridge;  // kMt5CrsV1: replies take the v1 shape (section 2a)
};

struct Order {
  uint64_t id = 0;
  // The order's three names (transport/order_scope.h): the store key (the uuid, or the client's
  // identity and the uuid with CURVE), the uuid the client sent (every reply to the client carries
  // it) and the uuid the bridge knows it by (sends, ORDER_STATUS, reply correlation).
  std::string key;
  std::string uuid;
  std::string bridge_uuid;
  Request request;  // as the bridge is sent it: its uuid is bridge_uuid
  std::string canonical;
  std::string fingerprint;    // bytes of transport::Fingerprint
  Phase phase = Phase::kNew;  // moved only by Loop::Move (gateway/order_lifecycle.h)
  uint64_t order_token = 0;   // the OPEN/CLOSE at the bridge link, until answered or forgotten
  uint64_t query_token = 0;   // the outstanding ORDER_STATUS, 0 when none
  // A question was sent while the order's own request could still be answered. The link pairs
  // replies by uuid, oldest first, so from then on a reply matched to the order may be the answer
  // to a question (even a late one), and a reply matched to that question may be the order's own:
  // such replies are read only for what means the same either way.
  bool order_shadowed = false;  // sticky until the order's entry is consumed
  bool query_shadowed = false;  // the outstanding question was sent while the order was answerable
  int64_t signed_unix_us = 0;   // upper bound of when the bridge's TTL clock started
  // When a sent order becomes UNKNOWN if nothing settled it: kept here as well as at the link,
  // because a reply that settles nothing consumes the link's entry and its deadline with it.
  int64_t bridge_deadline_ns = 0;
  int64_t query_sent_unix_us = 0;  // when the last ORDER_STATUS was sent
  int64_t next_query_ns = 0;
  std::string unknown_reply;  // the reply replayed while UNKNOWN
  std::vector<Waiter> waiters;
  // The outcome learned while settling (IsSettling(phase)): in a batch, or waiting for the store.
  RecordEvent outcome_event = RecordEvent::kOutcomeFilled;
  std::string outcome_reply;
  // Latency stages (StageLatency): when the order arrived in the loop and when it was sent.
  int64_t arrived_ns = 0;
  int64_t sent_ns = 0;
  // Counted in RiskGate's in-flight (OnReserved at admission): OnSettled when it is erased. An
  // order recovered from the store at start was never counted.
  bool risk_counted = false;
  // Another gateway's order, adopted from the shared guard (its lease expired): UNKNOWN, only
  // asked about; another survivor may settle it first (then our write is refused, quietly).
  bool adopted = false;

  // Back to a fresh order, keeping the strings' and the waiter list's capacity: orders are pooled
  // so that the steady state allocates nothing per order.
  void Reset() {
    key.clear();
    uuid.clear();
    bridge_uuid.clear();
    request = Request{};
    canonical.clear();
    fingerprint.clear();
    phase = Phase::kNew;
    order_token = query_token = 0;
    order_shadowed = query_shadowed = false;
    signed_unix_us = query_sent_unix_us = next_query_ns = bridge_deadline_ns = 0;
    unknown_reply.clear();
    waiters.clear();
    outcome_event = RecordEvent::kOutcomeFilled;
    outcome_reply.clear();
    arrived_ns = sent_ns = 0;
    risk_counted = false;
    adopted = false;
  }
};

// A retry of an order another live gateway holds RESERVED on the shared guard (never in this
// process's memory): polled in the store until it has an outcome or the waiter's deadline.
struct ForeignWaiter {
  Waiter waiter;
  std::string key;   // the store key
  std::string uuid;  // the client's uuid
};

// A GET_ACCOUNT / GET_POSITIONS at the bridge, under ordergate's own correlation id.
struct Relay {
  ReplyRoute route;
  int64_t received_ns = 0;
  RelayUuid client;  // the strategy's uuid, put back into the reply (or the BRIDGE_TIMEOUT)
};

struct BatchItem {
  Order* order;
  BatchPurpose purpose;
};

// A request waiting for its store read (gateway/store_reader.h): what answering it needs once the
// read comes back. Owned by the pipeline (Loop::pending_reads_); copies, never views, because the
// request's buffers are gone by then.
enum class ReadPurpose : uint8_t {
  kOrderStatus,       // ORDER_STATUS of an order not in memory, or still being reserved
  kRefusal,           // an order refused (admission, a pre-trade limit) unless it is recorded
  kConflict,          // a different body while the uuid is being reserved here
  kUnknownOrSettled,  // a retry or ORDER_STATUS of an UNKNOWN order, on the shared guard
};
struct PendingRead {
  ReadPurpose purpose = ReadPurpose::kOrderStatus;
  Waiter waiter;
  std::string key;                     // the store key read
  std::string uuid;                    // the client's uuid (every reply carries it)
  std::string identity;                // the client's identity, for the audit log
  std::string fingerprint;             // kRefusal, kConflict: the request's body
  ErrorCode refusal = ErrorCode::kOk;  // kRefusal: the answer when nothing is recorded
  std::string message;                 // kRefusal: its message
  Request request;                     // kRefusal: the order (a risk refusal's audit line)
  std::string unknown_reply;           // kUnknownOrSettled: the order's UNKNOWN reply
};

// What every read keeps; the caller adds what its purpose needs.
inline PendingRead MakePendingRead(ReadPurpose purpose, const Waiter& w, absl::string_view key,
                                   absl::string_view uuid, absl::string_view identity) {
  PendingRead p;
  p.purpose = purpose;
  p.waiter = w;
  p.key = std::string(key);
  p.uuid = std::string(uuid);
  p.identity = std::string(identity);
  return p;
}

// A store batch on its way through the journal (gateway/journal.h): the changes and results the
// journal thread sees, and what each change was for, which only the pipeline reads.
struct PipelineBatch {
  Journal::Batch batch;
  std::vector<BatchItem> items;
};

struct DeadlineEntry {
  int64_t deadline_ns;
  uint64_t order_id;
  bool operator>(const DeadlineEntry& o) const { return deadline_ns > o.deadline_ns; }
};

}  // namespace loop_types
using namespace loop_types;  // NOLINT(google-build-using-namespace): private header

class Gateway::Loop {
 public:
  GatewayConfig cfg;
  GatewayCounters counters;
  StageLatency latency;
  // The rolling windows (gateway/minute_windows.h): fed by Run()'s thread, read from any thread.
  WindowCounters window_counters;
  std::unique_ptr<MinuteWindows> windows;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> ready{false};
  std::atomic<bool> bridge_up{false};
  std::atomic<int64_t> last_bridge_reply_ns{0};  // steady clock; 0: no reply yet
  std::atomic<uint64_t> bridge_capacity{0};      // BridgeCapacity::Limit() at the last poll
  std::atomic<int64_t> bridge_service_ns{0};     // BridgeCapacity::service_ns()
  std::atomic<uint64_t> in_flight{0};
  std::string front_endpoint;
  ResolutionQueue resolutions;  // operator resolutions, applied by Run() (ApplyResolutions)
  std::string admin_token;      // read from cfg.admin_token_file at Start()
  // Pre-trade limits (gateway/risk_limits.h), owned by this thread: Gateway::ReplaceLimits (any
  // thread) hands a table over under limits_mu, and the next Turn takes it before any request.
  RiskGate risk;
  std::mutex limits_mu;
  std::optional<LimitsTable> pending_limits;  // guarded by limits_mu
  std::atomic<bool> limits_pending{false};
  // The audit log (gateway/audit_log.h): null when cfg.audit_log is "" or the pipeline is
  // simulated. Record() only queues: this thread never waits on its disk.
  std::unique_ptr<AuditLog> audit;

  std::unique_ptr<idempotency::Store> store;
  std::unique_ptr<transport::IoContext> io;
  // The front end: a transport::FrontEnd (ZeroMQ ROUTER), or the simulation's port; null for an
  // in-process gateway (StartEmbedded).
  std::unique_ptr<transport::RequestPort> front;
  transport::FrontEnd* zmq_front = nullptr;  // = front when it is the ZeroMQ one
  // In-process submissions (gateway/embedded_port.h): null unless started by StartEmbedded, which
  // binds no front end.
  EmbeddedSink* sink = nullptr;
  std::unique_ptr<EmbeddedInbox> inbox;
  // The bridge: a transport::BridgeLink (ZeroMQ) unless the pipeline was started simulated.
  std::unique_ptr<transport::BridgePort> link;
  transport::BridgeLink* zmq_link = nullptr;  // = link when it is the ZeroMQ one (Run polls it)
  // The store's writer thread; declared after `store`, so destroyed before it.
  std::unique_ptr<Journal> journal;
  // The store's reader thread (gateway/store_reader.h): the point reads that answer requests;
  // declared after `store`, so destroyed before it.
  std::unique_ptr<StoreReader> reader;
  // The shared guard's lease (gateway/shared_guard.h), null with RocksDB. Its heartbeat uses
  // `store`: declared after it, so destroyed (the thread joined) before it.
  std::unique_ptr<SharedGuard> guard;
  SharedGuardCounters guard_counters;

  absl::Status Init();
  absl::Status Run();
  // One turn of the loop at now_ns (Run()'s body after its poll; StartSimulated's Turn()). Never
  // blocks. True once stopping and drained, or past the stop deadline: then Finish().
  bool Turn(int64_t now_ns);
  // After the last Turn(): refuses late submissions, writes what is gathered, answers everyone.
  void Finish();
  int64_t PollTimeoutMs(int64_t now_ns) const;
  // StartSimulated: the bridge port was given (no ZeroMQ), and the journal is manual.
  bool simulated = false;

  // The pipeline's only readings of time (gateway/clock.h): every deadline and timestamp of the
  // loop comes from `clock`, the system's unless Start() was given another.
  const Clock* clock = &SystemClock();
  int64_t SteadyNs() const { return clock->SteadyNs(); }
  int64_t UnixUs() const { return clock->UnixUs(); }

 private:
  // Request handling (front end).
  void DrainFrontEnd(int64_t now_ns);
  void DrainEmbedded();
  // `identity`: the client's authenticated name ("" without CURVE, and for in-process callers);
  // it scopes the uuid (transport/order_scope.h).
  void HandleBody(const ReplyRoute& route, absl::string_view identity, absl::string_view body,
                  int64_t received_ns);
  void HandleOrder(const Waiter& w, absl::string_view identity, const Request& req);
  void HandleOrderStatus(const ReplyRoute& route, absl::string_view identity, const Request& req,
                         int64_t received_ns);
  void HandleRelay(const ReplyRoute& route, const Request& req, absl::string_view body,
                   int64_t received_ns, int64_t deadline_ns);
  void HandlePing(const ReplyRoute& route, const Request& req, absl::string_view body,
                  int64_t received_ns);
  // Refuses an order that cannot be reserved now, unless the store already has its outcome.
  void RefuseUnlessRecorded(const Waiter& w, const Request& req, absl::string_view fingerprint,
                            ErrorCode refusal, absl::string_view msg = {});
  // The audit log's line for a decision (gateway/audit_log.h); nothing when it is off. Audit
  // stamps the time; OrderAudit fills what `o` knows (its identity from its store key, its uuids,
  // the order's fields).
  void Audit(AuditEvent e);
  AuditEvent OrderAudit(AuditEventKind kind, const Order& o) const;
  // Takes the limits Gateway::ReplaceLimits handed over (RiskGate::Replace keeps every client's
  // state).
  void ApplyPendingLimits();
  void AnswerFromRecord(const Waiter& w, absl::string_view uuid, absl::string_view fingerprint,
                        const Record& rec, bool check_fingerprint);
  // The loop's own synchronous store reads (an operator's resolution, the shared guard's foreign
  // waiters): Store::Lookup, unless one failed within kStoreReadPauseMs (then kUnavailable at once,
  // nothing read). Blocks for the read (a call deadline at most). Requests read through `reader`.
  absl::StatusOr<std::optional<Record>> ReadRecord(absl::string_view key);
  // A retry or ORDER_STATUS of an order this process holds UNKNOWN: its UNKNOWN reply, or on the
  // shared guard the record's outcome when another gateway settled it meanwhile (a store read).
  void ReplyUnknownOrSettled(const Waiter& w, const Order& o);
  // A different body while the uuid is in flight here: IDEMPOTENCY_CONFLICT, audited.
  void ReplyInFlightConflict(const Waiter& w, absl::string_view identity, absl::string_view uuid);
  // Requests answered from the record, read off this thread (gateway/store_reader.h): ReadThen
  // queues the read (a full queue answers as a failed read, at once); TakeReads answers each
  // request whose read came back (FinishRead), re-checking what the loop holds now.
  void ReadThen(const PendingRead& p);
  // A resend of the body of `o`, in flight here: it joins `o` (the same outcome, or PENDING at its
  // own deadline; UNKNOWN at once when `o` is). Counted and audited as a duplicate. HandleOrder's,
  // and a refused or conflicting request's whose uuid is in flight here once its read is back.
  void JoinAsRetry(const Waiter& w, Order* o);
  void TakeReads(bool wait);  // wait: Drain() the reader first (shutdown)
  void FinishRead(const PendingRead& p, const absl::StatusOr<std::optional<Record>>& rec);

  // Bridge side.
  void HandleBridgeEvent(const BridgeEvent& ev);
  // Carries out JudgeBridgeReply's verdict (gateway/bridge_reply_rules.h) on the order.
  void HandleOrderReply(Order* o, absl::string_view body, ReplyKind kind);
  void SetOutcome(Order* o, RecordEvent event, absl::string_view reply);
  void SendDueQueries(int64_t now_ns);
  void SendOrder(Order* o, int64_t now_ns);
  // Nothing of `o` left the process (the link refused it, or the lease cannot vouch for a send):
  // its reservation is released (one synchronous store write) and its waiters get `refusal`; when
  // the release fails it is UNKNOWN in memory (the bridge will not know it: REJECTED later).
  void ReleaseUnsent(Order* o, int64_t now_ns, ErrorCode refusal);
  // Shared guard (guard_lease.h): a retry of another gateway's RESERVED order waits for its
  // outcome by polling the store (PollForeignWaiters, every kForeignPollMs), and the UNKNOWN orders
  // of dead gateways listed by the heartbeat are adopted (AdoptUnknown) and asked about.
  void JoinForeign(const Waiter& w, absl::string_view key, absl::string_view uuid);
  void PollForeignWaiters(int64_t now_ns);
  void AdoptUnknown(int64_t now_ns);
  // RESERVED -> UNKNOWN (written with the next batch) for an order nothing settled in time.
  void MarkTimedOut(Order* o);
  void ExpireBridgeDeadlines(int64_t now_ns);
  // What admission decides from (gateway/admission.h), read now: AdmitOrder / AdmitRelay /
  // BridgeHasRoom decide; this only gathers.
  AdmissionState AdmissionNow() const;

  // Store batches, through the journal: TakeWritten, then hand the gathered batch over (so the
  // disk works on it while this thread sends and answers for the one just written), then
  // FinishBatch on the written one.
  void PumpJournal(int64_t now_ns);
  // Hands changes_/items_ (and the outcomes to retry, when due) to the journal, if it is idle.
  void StartBatch(int64_t now_ns);
  // Carries out JudgeBatchItem's verdict (gateway/batch_rules.h) for each item of a batch back
  // from the journal: sends, answers, writes again, forgets.
  void FinishBatch(PipelineBatch* pb, int64_t now_ns);
  // An outcome made durable: BRIDGE_TIMEOUT (UNKNOWN: answered so, asked about later) or FILLED /
  // REJECTED (answered, counted, audited, the order forgotten).
  void RecordedUnknown(Order* o, int64_t now_ns);
  void RecordedOutcome(Order* o);
  // Shutdown: writes what is gathered and waits for the journal, answering as batches come back.
  void FlushJournal();

  // Operator resolutions: applied on this thread (one synchronous store write each: rare, and an
  // operator waits for it); refused while an outcome of the order is being written.
  void ApplyResolutions();
  absl::StatusOr<ResolutionResult> ApplyResolution(const Resolution& r);

  // Replies.
  // `recorded`: the reply is a stored outcome (or UNKNOWN/PENDING of a stored order), not one of
  // ordergate's refusals (ReplyError); only in-process callers are told the difference.
  void ReplyOrder(const Waiter& w, absl::string_view object, bool duplicate, bool recorded = true);
  // PENDING for `uuid` (the wire only: the embedded door waits instead, or gets a final outcome).
  void ReplyPending(const Waiter& w, absl::string_view uuid, bool duplicate);
  void ReplyError(const Waiter& w, absl::string_view uuid, ErrorCode code, bool is_order,
                  absl::string_view msg = {});
  // An error to a request that is not an order (PING, relays, their envelope errors): the bare
  // reply, without the order replies' duplicate/gateway_us fields. Counts nothing.
  void ReplyPlainError(const ReplyRoute& route, absl::string_view uuid, ErrorCode code,
                       absl::string_view msg = {});
  void ReplyAll(Order* o, absl::string_view object);
  void ExpireWaiters(int64_t now_ns);

  // Orders.
  // A new order for the store key `key` (transport/order_scope.h), its uuid and bridge uuid
  // derived from it.
  Order* NewOrder(absl::string_view key, const Request& req, absl::string_view canonical,
                  absl::string_view fingerprint);
  // An UNKNOWN record taken into memory to be asked about (never resent): recovered at start, or
  // adopted from a dead gateway of the shared guard. `signed_unix_us`: an upper bound of when any
  // copy of it was signed. nullptr when the key's uuid is not one (a foreign store's).
  Order* NewUnknownOrder(const idempotency::Record& rec, int64_t signed_unix_us, int64_t now_ns);
  // The one place an order's phase changes (OrderLifecycle's table; counts follow). False when the
  // table has no row: nothing changed.
  bool Move(Order* o, LifecycleEvent e) { return life_.Move(&o->phase, e); }
  // Forgets an order that reached Phase::kDone.
  void EraseOrder(Order* o);
  void ForgetToken(uint64_t* token);
  void AddWaiter(Order* o, const Waiter& w);
  void RecountInFlight();
  std::string UnknownReply(absl::string_view uuid, int64_t now_unix_us);

  // One log line per transition of the bridge link, with how long the previous state lasted.
  void OnLinkChanged(bool up, int64_t now_ns);

  bool Drained() const;

  DecodeLimits limits_;
  // By key: the view is into the order's own `key`, which does not change while it is mapped.
  absl::flat_hash_map<absl::string_view, std::unique_ptr<Order>> orders_;
  std::vector<std::unique_ptr<Order>> free_orders_;  // erased orders, reused by NewOrder
  std::string canonical_;                            // HandleOrder's scratch
  std::string scope_key_;  // HandleOrder's and HandleOrderStatus's scratch: the store key
  absl::flat_hash_map<uint64_t, Order*> orders_by_id_;
  absl::flat_hash_map<uint64_t, Order*> orders_by_token_;
  absl::flat_hash_map<uint64_t, Relay> relays_;
  std::priority_queue<DeadlineEntry, std::vector<DeadlineEntry>, std::greater<>> waiter_deadlines_;
  std::priority_queue<DeadlineEntry, std::vector<DeadlineEntry>, std::greater<>> bridge_deadlines_;
  std::unique_ptr<BridgeCapacity> capacity_;
  // For the local store Init() opened (empty for a store the caller passed in): once start-up has
  // succeeded the store keeps even a data directory it created and never wrote to.
  std::function<void()> keep_store_directory_;
  bool link_was_up_ = false;
  int64_t link_changed_ns_ = 0;  // when the link last went up or down (start: Init)
  uint64_t next_id_ = 1;
  uint64_t next_token_ = 1;
  OrderLifecycle life_;  // every order's phase moves through it; in flight and reserving follow

  // The batch being gathered (views into orders; handed to the journal by StartBatch).
  std::vector<Change> changes_;
  std::vector<BatchItem> items_;
  // Two batches alternate: one being written by the journal, the other being finished here.
  PipelineBatch batches_[2];
  int next_batch_ = 0;                  // the slot the next StartBatch fills
  std::vector<Order*> retry_outcomes_;  // outcomes whose write failed; retried
  std::vector<Order*> sorted_orders_;   // scratch of SendDueQueries and Finish: orders by id
  std::vector<std::shared_ptr<PendingResolution>> taken_resolutions_;
  std::vector<ForeignWaiter> foreign_waiters_;
  int64_t next_foreign_poll_ns_ = 0;
  std::vector<Record> adoptable_;  // AdoptUnknown's scratch
  int64_t store_retry_not_before_ns_ = 0;
  int64_t store_reads_paused_until_ns_ = 0;  // ReadRecord's pause after a failed read
  // Requests waiting for their store read, by the reader's ticket.
  absl::flat_hash_map<uint64_t, PendingRead> pending_reads_;
  uint64_t next_read_ticket_ = 1;
  bool queries_enabled_ = true;
  int64_t next_query_scan_ns_ = 0;
  int64_t start_unix_us_ = 0;

  transport::InboundRequest inbound_;
  // The identity of the request being handled (HandleOrder, HandleOrderStatus, a reservation that
  // met a record): AnswerFromRecord's duplicates and conflicts are audited under it.
  absl::string_view audit_identity_;
  std::vector<EmbeddedSubmission> embedded_;  // DrainEmbedded's batch
  std::vector<BridgeEvent> events_;
  std::string scratch_;
  std::string reply_;
  std::string relay_body_;
  bool stopping_ = false;    // Stop() was seen: no new orders, draining until stop_deadline_ns_
  bool lease_lost_ = false;  // the shared guard's lease was lost: stopping, Run() says so
  int64_t stop_deadline_ns_ = std::numeric_limits<int64_t>::max();
  int64_t events_ns_ = 0;      // the loop's now_ns when the current bridge events were polled
  int64_t last_reply_ns_ = 0;  // the clock read of the last ReplyOrder (before front->Reply)
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_GATEWAY_LOOP_H_
