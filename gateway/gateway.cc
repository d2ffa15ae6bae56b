#include "gateway/gateway.h"

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
#include "gateway/bridge_capacity.h"
#include "gateway/minute_windows.h"
#include "idempotency/rocksdb_store.h"
#include "spdlog/spdlog.h"
#include "transport/bridge_link.h"
#include "transport/codec.h"
#include "transport/front_end.h"
#include "transport/io.h"
#include "transport/order.h"
#include "transport/relay_uuid.h"
#include "transport/signing.h"

namespace ordergate::gateway {

namespace {

using idempotency::Change;
using idempotency::ChangeOutcome;
using idempotency::ChangeResult;
using idempotency::Record;
using idempotency::RecordEvent;
using idempotency::RecordState;
using transport::BridgeEvent;
using transport::BridgeEventKind;
using transport::ReplyRoute;

constexpr int64_t kNsPerMs = 1000000;
constexpr int64_t kQueryTimeoutMs = 2000;
constexpr int64_t kStoreRetryMs = 100;
constexpr int kMaxPollMs = 20;
constexpr absl::string_view kVersion = "0.1.0";

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// fmt cannot print Debian's absl::string_view (its own type); logs go through this.
std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }

int64_t UnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The lifecycle of an order inside the gateway. The durable state lives in the store; this is only
// what the loop still has to do for it.
enum class Phase : uint8_t {
  kReserving,  // in the current store batch; nothing sent
  kSent,       // RESERVED and at the bridge
  kUnknown,    // UNKNOWN: asked about (ORDER_STATUS) until a reply resolves it
};

struct Waiter {
  ReplyRoute route;
  int64_t received_ns = 0;
  int64_t deadline_ns = 0;
  bool original = false;  // the submission that reserved the key; the rest joined it
};

struct Order {
  uint64_t id = 0;
  std::string key;  // the store key: the uuid (global scope without CURVE)
  Request request;
  std::string canonical;
  std::string fingerprint;  // bytes of transport::Fingerprint
  Phase phase = Phase::kReserving;
  uint64_t order_token = 0;  // the OPEN/CLOSE at the bridge link, until answered or forgotten
  uint64_t query_token = 0;  // the outstanding ORDER_STATUS, 0 when none
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
  // An outcome learned but not yet durable (in the current batch, or waiting for the store).
  bool outcome_pending = false;
  RecordEvent outcome_event = RecordEvent::kOutcomeFilled;
  std::string outcome_reply;
  // Latency stages (StageLatency): when the order arrived in the loop and when it was sent.
  int64_t arrived_ns = 0;
  int64_t sent_ns = 0;

  // Back to a fresh order, keeping the strings' and the waiter list's capacity: orders are pooled
  // so that the steady state allocates nothing per order.
  void Reset() {
    key.clear();
    request = Request{};
    canonical.clear();
    fingerprint.clear();
    phase = Phase::kReserving;
    order_token = query_token = 0;
    order_shadowed = query_shadowed = false;
    signed_unix_us = query_sent_unix_us = next_query_ns = bridge_deadline_ns = 0;
    unknown_reply.clear();
    waiters.clear();
    outcome_pending = false;
    outcome_event = RecordEvent::kOutcomeFilled;
    outcome_reply.clear();
    arrived_ns = sent_ns = 0;
  }
};

// A GET_ACCOUNT / GET_POSITIONS at the bridge, under ordergate's own correlation id.
struct Relay {
  ReplyRoute route;
  int64_t received_ns = 0;
  RelayUuid client;  // the strategy's uuid, put back into the reply (or the BRIDGE_TIMEOUT)
};

// What one change in the current batch was for.
enum class BatchPurpose : uint8_t { kReserve, kOutcome, kRelease };

struct BatchItem {
  Order* order;
  BatchPurpose purpose;
};

struct DeadlineEntry {
  int64_t deadline_ns;
  uint64_t order_id;
  bool operator>(const DeadlineEntry& o) const { return deadline_ns > o.deadline_ns; }
};

}  // namespace

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

  std::unique_ptr<idempotency::Store> store;
  std::unique_ptr<transport::IoContext> io;
  std::unique_ptr<transport::FrontEnd> front;
  std::unique_ptr<transport::BridgeLink> link;

  absl::Status Init();
  absl::Status Run();

 private:
  // Request handling (front end).
  void DrainFrontEnd(int64_t now_ns);
  void HandleBody(const ReplyRoute& route, absl::string_view body, int64_t received_ns);
  void HandleOrder(const ReplyRoute& route, const Request& req, int64_t received_ns,
                   int64_t deadline_ns);
  void HandleOrderStatus(const ReplyRoute& route, const Request& req, int64_t received_ns);
  void HandleRelay(const ReplyRoute& route, const Request& req, absl::string_view body,
                   int64_t received_ns, int64_t deadline_ns);
  void HandlePing(const ReplyRoute& route, const Request& req, absl::string_view body,
                  int64_t received_ns);
  // Refuses an order that cannot be reserved now, unless the store already has its outcome.
  void RefuseUnlessRecorded(const Waiter& w, const Request& req, absl::string_view fingerprint,
                            ErrorCode refusal);
  void AnswerFromRecord(const Waiter& w, absl::string_view uuid, absl::string_view fingerprint,
                        const Record& rec, bool check_fingerprint);

  // Bridge side.
  void HandleBridgeEvent(const BridgeEvent& ev);
  enum class ReplyKind : uint8_t { kOrder, kQuery, kEither };
  void HandleOrderReply(Order* o, absl::string_view body, ReplyKind kind);
  void SetOutcome(Order* o, RecordEvent event, absl::string_view reply);
  void SendDueQueries(int64_t now_ns);
  void SendOrder(Order* o, int64_t now_ns);
  // RESERVED -> UNKNOWN (written with the next batch) for an order nothing settled in time.
  void MarkTimedOut(Order* o);
  void ExpireBridgeDeadlines(int64_t now_ns);
  // Whether one more request may join those unanswered at the bridge (BridgeCapacity). Relays get
  // half of it: a flood of GET_ACCOUNTs must not keep orders out.
  bool BridgeHasRoom(bool relay) const;

  // Store batch.
  void CommitBatch(int64_t now_ns);

  // Operator resolutions: applied after CommitBatch, when no outcome of the batch is pending.
  void ApplyResolutions();
  absl::StatusOr<ResolutionResult> ApplyResolution(const Resolution& r);

  // Replies.
  void ReplyOrder(const Waiter& w, absl::string_view object, bool duplicate);
  void ReplyError(const Waiter& w, absl::string_view uuid, ErrorCode code, bool is_order,
                  absl::string_view msg = {});
  void ReplyAll(Order* o, absl::string_view object);
  void ExpireWaiters(int64_t now_ns);

  // Orders.
  Order* NewOrder(const Request& req, absl::string_view canonical, absl::string_view fingerprint);
  void EraseOrder(Order* o);
  void ForgetToken(uint64_t* token);
  void AddWaiter(Order* o, const Waiter& w);
  void RecountInFlight();
  std::string UnknownReply(absl::string_view uuid, int64_t now_unix_us);

  // One log line per transition of the bridge link, with how long the previous state lasted.
  void OnLinkChanged(bool up, int64_t now_ns);

  int64_t PollTimeoutMs(int64_t now_ns) const;
  bool Drained() const;

  DecodeLimits limits_;
  // By key: the view is into the order's own `key`, which does not change while it is mapped.
  absl::flat_hash_map<absl::string_view, std::unique_ptr<Order>> orders_;
  std::vector<std::unique_ptr<Order>> free_orders_;  // erased orders, reused by NewOrder
  std::string canonical_;                            // HandleOrder's scratch
  absl::flat_hash_map<uint64_t, Order*> orders_by_id_;
  absl::flat_hash_map<uint64_t, Order*> orders_by_token_;
  absl::flat_hash_map<uint64_t, Relay> relays_;
  std::priority_queue<DeadlineEntry, std::vector<DeadlineEntry>, std::greater<>> waiter_deadlines_;
  std::priority_queue<DeadlineEntry, std::vector<DeadlineEntry>, std::greater<>> bridge_deadlines_;
  std::unique_ptr<BridgeCapacity> capacity_;
  // The RocksDB store Init() opened (null for a store the caller passed in): once start-up has
  // succeeded it keeps even a data directory it created and never wrote to.
  idempotency::RocksDbStore* own_store_ = nullptr;
  bool link_was_up_ = false;
  int64_t link_changed_ns_ = 0;  // when the link last went up or down (start: Init)
  uint64_t reserving_ = 0;       // orders in the current batch: admitted, not yet at the bridge
  uint64_t next_id_ = 1;
  uint64_t next_token_ = 1;
  uint64_t reserving_or_sent_ = 0;

  std::vector<Change> changes_;
  std::vector<BatchItem> items_;
  std::vector<ChangeResult> results_;
  std::vector<Order*> retry_outcomes_;  // outcomes whose write failed; retried
  std::vector<std::shared_ptr<PendingResolution>> taken_resolutions_;
  int64_t store_retry_not_before_ns_ = 0;
  bool queries_enabled_ = true;
  int64_t next_query_scan_ns_ = 0;
  int64_t start_unix_us_ = 0;

  transport::InboundRequest inbound_;
  std::vector<BridgeEvent> events_;
  std::string scratch_;
  std::string reply_;
  std::string relay_body_;
  int64_t events_ns_ = 0;      // the loop's now_ns when the current bridge events were polled
  int64_t last_reply_ns_ = 0;  // the clock read of the last ReplyOrder (before front->Reply)
};

std::string Gateway::Loop::UnknownReply(absl::string_view uuid, int64_t now_unix_us) {
  std::string out;
  EncodeStatusReply(uuid, "UNKNOWN", ErrorCodeName(ErrorCode::kBridgeTimeout),
                    "no reply from the bridge within bridge_timeout_ms: the order may have "
                    "executed; do not resend it under a new uuid",
                    now_unix_us, &out);
  return out;
}

absl::Status Gateway::Loop::Init() {
  limits_.max_request_bytes = static_cast<size_t>(cfg.max_request_bytes);
  limits_.max_volume = cfg.max_volume;
  limits_.signature_ttl_ms = cfg.bridge_signature_ttl_ms;
  start_unix_us_ = UnixUs();

  if (store == nullptr) {
    idempotency::RocksDbStoreOptions sopts;
    sopts.path = cfg.data_dir;
    sopts.durability = cfg.durability;
    sopts.retention = cfg.retention;
    // A start that fails later (a port in use) leaves no data directory it created behind.
    sopts.remove_created_directory_if_unused = true;
    auto opened = idempotency::RocksDbStore::Open(sopts);
    if (!opened.ok()) {
      return absl::Status(
          opened.status().code(),
          absl::StrCat("cannot open the store at ", cfg.data_dir, ": ", opened.status().message()));
    }
    if ((*opened)->durable_mark_was_absent()) {
      spdlog::warn(
          "the store at {} had no durable mark (ORDERGATE-DURABLE-MARK): accepted as recovered up "
          "to WAL sequence {}; records lost before this start cannot be detected (an operator "
          "removed the mark to accept a loss, or the store predates the mark)",
          cfg.data_dir, (*opened)->recovered_sequence());
    }
    counters.recovered_unknown = (*opened)->recovered_count();
    own_store_ = opened->get();
    store = std::move(*opened);
  }

  windows = std::make_unique<MinuteWindows>(
      MinuteWindows::Sources{&counters, &latency, &window_counters});
  if (absl::Status loaded = windows->Load(store->ListMeta(kMinuteKeyPrefix), UnixUs() / 1000);
      !loaded.ok()) {
    spdlog::warn("rolling windows: {} (the checkpoint's windows may miss earlier minutes)",
                 SV(loaded.message()));
  }

  // Every UNKNOWN record (recovered now, or left by an earlier run) is asked about again. Its
  // signature was made before this process started, so the bridge's TTL has run out by
  // start + ttl + exec margin, after which "the bridge never saw it" means it never will.
  auto in_flight_records = store->ListInFlight();
  if (!in_flight_records.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot list in-flight records: ", in_flight_records.status().message()));
  }
  const int64_t now_ns = SteadyNs();
  for (Record& rec : *in_flight_records) {
    // Open() recovered every RESERVED; a foreign store that did not is treated the same way.
    Request req;
    req.action = Action::kOpen;
    if (!req.uuid.value.Assign(rec.key)) continue;
    Order* o = NewOrder(req, {}, rec.fingerprint);
    o->phase = Phase::kUnknown;
    o->signed_unix_us = start_unix_us_;
    o->unknown_reply = rec.reply.empty() ? UnknownReply(rec.key, start_unix_us_) : rec.reply;
    o->next_query_ns =
        now_ns + (cfg.bridge_signature_ttl_ms + cfg.bridge_exec_margin_ms + 100) * kNsPerMs;
  }
  if (!orders_.empty()) {
    spdlog::warn(
        "{} UNKNOWN order(s) in the store ({} recovered from RESERVED at open); they are "
        "never resent, only asked about",
        orders_.size(), counters.recovered_unknown.load());
  }

  auto io_or = transport::IoContext::Create(1);
  if (!io_or.ok()) return io_or.status();
  io = std::move(*io_or);

  transport::FrontEndOptions fopts;
  fopts.endpoint = cfg.listen;
  fopts.max_message_bytes = cfg.max_message_bytes;
  auto fe = transport::FrontEnd::Bind(*io, fopts);
  if (!fe.ok()) {
    return absl::Status(fe.status().code(),
                        absl::StrCat("cannot listen on ", cfg.listen, ": ", fe.status().message()));
  }
  front = std::move(*fe);
  front_endpoint = front->endpoint();

  transport::BridgeLinkOptions bopts;
  bopts.endpoint = cfg.bridge;
  bopts.late_reply_window_ms = cfg.late_reply_window_ms;
  auto bl = transport::BridgeLink::Connect(*io, bopts);
  if (!bl.ok()) {
    return absl::Status(bl.status().code(), absl::StrCat("cannot connect to the bridge at ",
                                                         cfg.bridge, ": ", bl.status().message()));
  }
  link = std::move(*bl);

  // The longest a request may queue at the bridge: an OPEN must be dequeued within its signature's
  // TTL, and the execution margin is kept in hand for the jitter of the estimate.
  const int64_t budget_ms = cfg.bridge_signature_ttl_ms > cfg.bridge_exec_margin_ms
                                ? cfg.bridge_signature_ttl_ms - cfg.bridge_exec_margin_ms
                                : cfg.bridge_signature_ttl_ms;
  capacity_ = std::make_unique<BridgeCapacity>(budget_ms * kNsPerMs,
                                               static_cast<uint64_t>(cfg.bridge_max_in_flight));

  link_changed_ns_ = SteadyNs();
  changes_.reserve(static_cast<size_t>(cfg.max_batch) * 2);
  items_.reserve(static_cast<size_t>(cfg.max_batch) * 2);
  results_.reserve(static_cast<size_t>(cfg.max_batch) * 2);
  return absl::OkStatus();
}

Order* Gateway::Loop::NewOrder(const Request& req, absl::string_view canonical,
                               absl::string_view fingerprint) {
  std::unique_ptr<Order> owned;
  if (free_orders_.empty()) {
    owned = std::make_unique<Order>();
  } else {
    owned = std::move(free_orders_.back());
    free_orders_.pop_back();
  }
  Order* o = owned.get();
  o->id = next_id_++;
  o->key.assign(req.uuid.view().data(), req.uuid.view().size());
  o->request = req;
  o->canonical.assign(canonical.data(), canonical.size());
  o->fingerprint.assign(fingerprint.data(), fingerprint.size());
  orders_by_id_[o->id] = o;
  orders_.emplace(absl::string_view(o->key), std::move(owned));
  return o;
}

void Gateway::Loop::EraseOrder(Order* o) {
  // Enough spare orders for a burst at the bridge's in-flight bound; beyond it, memory goes back.
  constexpr size_t kMaxFreeOrders = 4096;
  ForgetToken(&o->order_token);
  ForgetToken(&o->query_token);
  orders_by_id_.erase(o->id);
  auto it = orders_.find(absl::string_view(o->key));
  std::unique_ptr<Order> owned = std::move(it->second);
  orders_.erase(it);
  if (free_orders_.size() < kMaxFreeOrders) {
    owned->Reset();
    free_orders_.push_back(std::move(owned));
  }
}

void Gateway::Loop::ForgetToken(uint64_t* token) {
  if (*token == 0) return;
  link->Forget(*token);
  orders_by_token_.erase(*token);
  *token = 0;
}

void Gateway::Loop::AddWaiter(Order* o, const Waiter& w) {
  o->waiters.push_back(w);
  waiter_deadlines_.push({w.deadline_ns, o->id});
}

void Gateway::Loop::RecountInFlight() {
  in_flight.store(reserving_or_sent_, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------
// Replies

void Gateway::Loop::ReplyOrder(const Waiter& w, absl::string_view object, bool duplicate) {
  reply_.clear();
  last_reply_ns_ = SteadyNs();
  const int64_t gateway_us = (last_reply_ns_ - w.received_ns) / 1000;
  AppendWithGatewayFields(object, duplicate, gateway_us, &reply_);
  if (duplicate) counters.duplicates.fetch_add(1, std::memory_order_relaxed);
  (void)front->Reply(w.route, reply_);
}

void Gateway::Loop::ReplyError(const Waiter& w, absl::string_view uuid, ErrorCode code,
                               bool is_order, absl::string_view msg) {
  scratch_.clear();
  EncodeErrorReply(uuid, code, is_order, msg, UnixUs(), &scratch_);
  counters.denied.fetch_add(1, std::memory_order_relaxed);
  if (code == ErrorCode::kStoreUnavailable) {
    counters.store_unavailable.fetch_add(1, std::memory_order_relaxed);
  }
  if (code == ErrorCode::kIdempotencyConflict) {
    counters.conflicts.fetch_add(1, std::memory_order_relaxed);
  }
  ReplyOrder(w, scratch_, /*duplicate=*/false);
}

void Gateway::Loop::ReplyAll(Order* o, absl::string_view object) {
  for (const Waiter& w : o->waiters) ReplyOrder(w, object, !w.original);
  o->waiters.clear();
}

void Gateway::Loop::ExpireWaiters(int64_t now_ns) {
  while (!waiter_deadlines_.empty() && waiter_deadlines_.top().deadline_ns <= now_ns) {
    const uint64_t id = waiter_deadlines_.top().order_id;
    waiter_deadlines_.pop();
    auto it = orders_by_id_.find(id);
    if (it == orders_by_id_.end()) continue;
    Order* o = it->second;
    auto& ws = o->waiters;
    auto keep = ws.begin();
    for (auto w = ws.begin(); w != ws.end(); ++w) {
      if (w->deadline_ns <= now_ns) {
        scratch_.clear();
        EncodeStatusReply(o->key, "PENDING", {}, {}, UnixUs(), &scratch_);
        ReplyOrder(*w, scratch_, !w->original);
        counters.pending_replies.fetch_add(1, std::memory_order_relaxed);
      } else {
        *keep++ = *w;
      }
    }
    ws.erase(keep, ws.end());
  }
}

// ---------------------------------------------------------------------------------------------
// Front end

void Gateway::Loop::DrainFrontEnd(int64_t now_ns) {
  for (int64_t n = 0; n < cfg.max_batch; ++n) {
    transport::ReceiveResult r = front->TryReceive(&inbound_);
    if (r == transport::ReceiveResult::kNone) break;
    if (r == transport::ReceiveResult::kDropped) {
      counters.dropped_frames.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counters.requests.fetch_add(1, std::memory_order_relaxed);
    HandleBody(inbound_.route, inbound_.body, now_ns);
  }
}

void Gateway::Loop::HandleBody(const ReplyRoute& route, absl::string_view body,
                               int64_t received_ns) {
  Request req;
  const int64_t decode_start_ns = SteadyNs();
  const ErrorCode ec = DecodeRequest(body, limits_, UnixUs(), &req);
  latency.decode.Record(SteadyNs() - decode_start_ns);
  const int64_t timeout_ms = req.timeout_ms > 0 ? req.timeout_ms : cfg.client_timeout_ms;
  const int64_t margin_ms = std::min(cfg.reply_margin_ms, timeout_ms / 2);
  const int64_t deadline_ns = received_ns + (timeout_ms - margin_ms) * kNsPerMs;
  Waiter w{route, received_ns, deadline_ns, true};
  if (ec != ErrorCode::kOk) {
    const bool is_order = IsOrderAction(req.action);
    if (is_order || req.action == Action::kOrderStatus) {
      ReplyError(w, req.uuid.view(), ec, is_order);
    } else {
      scratch_.clear();
      EncodeErrorReply(req.uuid.view(), ec, false, {}, UnixUs(), &scratch_);
      counters.denied.fetch_add(1, std::memory_order_relaxed);
      (void)front->Reply(route, scratch_);
    }
    return;
  }
  switch (req.action) {
    case Action::kOpen:
    case Action::kClose:
      HandleOrder(route, req, received_ns, deadline_ns);
      return;
    case Action::kOrderStatus:
      HandleOrderStatus(route, req, received_ns);
      return;
    case Action::kPing:
      HandlePing(route, req, body, received_ns);
      return;
    case Action::kGetAccount:
    case Action::kGetPositions:
      HandleRelay(route, req, body, received_ns, deadline_ns);
      return;
  }
}

void Gateway::Loop::HandlePing(const ReplyRoute& route, const Request& req, absl::string_view body,
                               int64_t received_ns) {
  const int64_t now_us = UnixUs();
  scratch_.clear();
  scratch_.append("{\"uuid\":");
  if (!req.uuid.view().empty()) {
    AppendJsonString(req.uuid.view(), &scratch_);
  } else {
    // Any string is echoed as the bridge does, not only the form the contract asks of orders.
    RelayUuid client;
    if (ReadTopLevelUuid(body, &client) && client.is_string) {
      AppendJsonString(client.text, &scratch_);
    } else {
      scratch_.append("null");
    }
  }
  scratch_.append(",\"status\":\"ok\",\"server_time\":\"");
  AppendIsoTimestamp(now_us, false, &scratch_);
  absl::StrAppend(&scratch_, "\",\"latency_ms\":", (SteadyNs() - received_ns) / kNsPerMs,
                  ",\"gateway\":{\"version\":\"", kVersion, "\",\"bridge\":\"",
                  link->IsUp() ? "up" : "down", "\",\"client_timeout_ms\":", cfg.client_timeout_ms,
                  ",\"bridge_timeout_ms\":", cfg.bridge_timeout_ms, ",\"durability\":\"",
                  DurabilityName(cfg.durability), "\"}}");
  (void)front->Reply(route, scratch_);
}

void Gateway::Loop::HandleRelay(const ReplyRoute& route, const Request& req, absl::string_view body,
                                int64_t received_ns, int64_t deadline_ns) {
  // The relay travels under ordergate's own id (transport/relay_uuid.h): no strategy's uuid, an
  // order's or another client's relay's, can be paired with its reply, however late it comes.
  const uint64_t token = next_token_++;
  const std::string relay_id = absl::StrCat("ordergate#relay-", token);
  std::string relay_id_json;
  AppendJsonString(relay_id, &relay_id_json);
  RelayUuid client;
  const bool swapped = SwapTopLevelUuid(body, relay_id_json, &relay_body_, &client);
  const absl::string_view echo = client.is_string ? absl::string_view(client.text) : "";
  auto refuse = [&](ErrorCode code, absl::string_view msg) {
    scratch_.clear();
    EncodeErrorReply(echo, code, false, msg, UnixUs(), &scratch_);
    counters.denied.fetch_add(1, std::memory_order_relaxed);
    (void)front->Reply(route, scratch_);
  };
  if (!swapped) {
    refuse(ErrorCode::kInvalidJson, {});  // DecodeRequest accepted it: cannot happen
    return;
  }
  if (!link->IsUp()) {
    refuse(ErrorCode::kBridgeDown, {});
    return;
  }
  if (!BridgeHasRoom(/*relay=*/true)) {
    counters.busy_bridge_capacity.fetch_add(1, std::memory_order_relaxed);
    refuse(ErrorCode::kGatewayBusy,
           "the bridge's queue is at what it can serve within the signature TTL; retry later");
    return;
  }
  const bool idle = link->outstanding() == 0;
  if (!link->Send(token, relay_id, relay_body_, deadline_ns).ok()) {
    refuse(ErrorCode::kBridgeDown, {});
    return;
  }
  capacity_->OnSent(SteadyNs(), idle);
  relays_[token] = Relay{route, received_ns, std::move(client)};
  counters.relays.fetch_add(1, std::memory_order_relaxed);
}

bool Gateway::Loop::BridgeHasRoom(bool relay) const {
  const uint64_t limit = capacity_->Limit(SteadyNs(), link->outstanding() > 0);
  const uint64_t allowed = relay ? std::max<uint64_t>(limit / 2, 1) : limit;
  return link->unanswered() + reserving_ < allowed;
}

void Gateway::Loop::AnswerFromRecord(const Waiter& w, absl::string_view uuid,
                                     absl::string_view fingerprint, const Record& rec,
                                     bool check_fingerprint) {
  if (check_fingerprint && rec.fingerprint != fingerprint) {
    ReplyError(w, uuid, ErrorCode::kIdempotencyConflict, true,
               "this uuid was already used for a different order; the record is unchanged");
    return;
  }
  // A resubmitted order answered from its record (a joined one was counted when it joined).
  if (check_fingerprint && w.original) {
    window_counters.duplicate_requests.fetch_add(1, std::memory_order_relaxed);
  }
  switch (rec.state) {
    case RecordState::kFilled:
    case RecordState::kRejected:
      ReplyOrder(w, rec.reply, /*duplicate=*/true);
      return;
    case RecordState::kUnknown:
      ReplyOrder(w, rec.reply.empty() ? UnknownReply(uuid, UnixUs()) : rec.reply, true);
      return;
    case RecordState::kReserved:
    case RecordState::kAbsent: {
      // A RESERVED record is always in memory while this process runs; reaching here means the
      // store and the loop disagree, and the only safe answer is one that sends nothing.
      scratch_.clear();
      EncodeStatusReply(uuid, "PENDING", {}, {}, UnixUs(), &scratch_);
      ReplyOrder(w, scratch_, true);
      return;
    }
  }
}

void Gateway::Loop::RefuseUnlessRecorded(const Waiter& w, const Request& req,
                                         absl::string_view fingerprint, ErrorCode refusal) {
  auto rec = store->Lookup(req.uuid.view());
  if (!rec.ok()) {
    ReplyError(w, req.uuid.view(), ErrorCode::kStoreUnavailable, true);
    return;
  }
  if (rec->has_value()) {
    AnswerFromRecord(w, req.uuid.view(), fingerprint, **rec, /*check_fingerprint=*/true);
    return;
  }
  ReplyError(w, req.uuid.view(), refusal, true);
}

void Gateway::Loop::HandleOrder(const ReplyRoute& route, const Request& req, int64_t received_ns,
                                int64_t deadline_ns) {
  canonical_.clear();
  CanonicalOrderFields(req, &canonical_);
  const Fingerprint fp = FingerprintOf(canonical_);
  const absl::string_view fp_bytes = FingerprintBytes(fp);
  Waiter w{route, received_ns, deadline_ns, true};

  auto it = orders_.find(req.uuid.view());
  if (it != orders_.end()) {
    Order* o = it->second.get();
    if (o->fingerprint != fp_bytes) {
      // A reservation still in the current batch may be a conflicting resend of a finished order
      // (it will meet kExists): then this request is that order, and the store has its outcome.
      if (o->phase == Phase::kReserving) {
        auto rec = store->Lookup(req.uuid.view());
        if (rec.ok() && rec->has_value()) {
          AnswerFromRecord(w, req.uuid.view(), fp_bytes, **rec, /*check_fingerprint=*/true);
          return;
        }
      }
      ReplyError(w, req.uuid.view(), ErrorCode::kIdempotencyConflict, true,
                 "this uuid is in flight for a different order; the record is unchanged");
      return;
    }
    w.original = false;
    window_counters.duplicate_requests.fetch_add(1, std::memory_order_relaxed);
    if (o->phase == Phase::kUnknown) {
      ReplyOrder(w, o->unknown_reply, /*duplicate=*/true);
      return;
    }
    AddWaiter(o, w);  // joins the original: same outcome, or PENDING at its own deadline
    return;
  }

  if (stop_requested.load(std::memory_order_relaxed)) {
    RefuseUnlessRecorded(w, req, fp_bytes, ErrorCode::kGatewayBusy);
    return;
  }
  if (!link->IsUp()) {
    RefuseUnlessRecorded(w, req, fp_bytes, ErrorCode::kBridgeDown);
    return;
  }
  if (reserving_or_sent_ >= static_cast<uint64_t>(cfg.bridge_max_in_flight)) {
    RefuseUnlessRecorded(w, req, fp_bytes, ErrorCode::kGatewayBusy);
    return;
  }
  if (!BridgeHasRoom(/*relay=*/false)) {
    // More than the bridge can serve within the TTL: this one would only expire in its queue.
    counters.busy_bridge_capacity.fetch_add(1, std::memory_order_relaxed);
    RefuseUnlessRecorded(w, req, fp_bytes, ErrorCode::kGatewayBusy);
    return;
  }
  Order* o = NewOrder(req, canonical_, fp_bytes);
  o->phase = Phase::kReserving;
  o->arrived_ns = received_ns;
  ++reserving_or_sent_;
  ++reserving_;
  AddWaiter(o, w);
  changes_.push_back(Change::Reserve(o->key, o->fingerprint));
  items_.push_back({o, BatchPurpose::kReserve});
}

void Gateway::Loop::HandleOrderStatus(const ReplyRoute& route, const Request& req,
                                      int64_t received_ns) {
  Waiter w{route, received_ns, received_ns, true};
  auto it = orders_.find(req.uuid.view());
  // An order still being reserved in the current batch may be a resend of a finished one: the
  // store answers for it (PENDING only when it has no record yet).
  if (it != orders_.end() && it->second->phase != Phase::kReserving) {
    Order* o = it->second.get();
    if (o->phase == Phase::kUnknown) {
      ReplyOrder(w, o->unknown_reply, true);
    } else {
      scratch_.clear();
      EncodeStatusReply(o->key, "PENDING", {}, {}, UnixUs(), &scratch_);
      ReplyOrder(w, scratch_, true);
    }
    return;
  }
  auto rec = store->Lookup(req.uuid.view());
  if (!rec.ok()) {
    ReplyError(w, req.uuid.view(), ErrorCode::kStoreUnavailable, false);
    return;
  }
  if (!rec->has_value()) {
    if (it != orders_.end()) {
      scratch_.clear();
      EncodeStatusReply(it->second->key, "PENDING", {}, {}, UnixUs(), &scratch_);
      ReplyOrder(w, scratch_, true);
      return;
    }
    ReplyError(w, req.uuid.view(), ErrorCode::kNotFound, false);
    return;
  }
  AnswerFromRecord(w, req.uuid.view(), {}, **rec, /*check_fingerprint=*/false);
}

// ---------------------------------------------------------------------------------------------
// Bridge

void Gateway::Loop::SendOrder(Order* o, int64_t now_ns) {
  const int64_t now_us = UnixUs();
  scratch_.clear();
  std::string signature;
  if (o->request.action == Action::kOpen) AppendRiskSignature(o->canonical, now_us, &signature);
  EncodeBridgeRequest(o->request, signature, &scratch_);
  const uint64_t token = next_token_++;
  o->signed_unix_us = now_us;
  const bool idle = link->outstanding() == 0;
  const absl::Status sent =
      link->Send(token, o->key, scratch_, now_ns + cfg.bridge_timeout_ms * kNsPerMs);
  if (sent.ok()) {
    // Only a fresh reservation is sent (sent_ns is 0 until its one send): anything else would be
    // a second send of the uuid, which the windows report (duplicate_sends) and alerts watch.
    if (o->sent_ns != 0) window_counters.duplicate_sends.fetch_add(1, std::memory_order_relaxed);
    o->sent_ns = SteadyNs();
    capacity_->OnSent(o->sent_ns, idle);
    o->phase = Phase::kSent;
    o->order_token = token;
    o->bridge_deadline_ns = now_ns + cfg.bridge_timeout_ms * kNsPerMs;
    bridge_deadlines_.push({o->bridge_deadline_ns, o->id});
    orders_by_token_[token] = o;
    counters.orders_submitted.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Nothing left the process: release the reservation so the strategy may send the uuid again.
  Change release = Change::Event(RecordEvent::kReleased, o->key);
  ChangeResult result;
  const absl::Status released = store->Apply({&release, 1}, now_us / 1000, {&result, 1});
  if (!released.ok() || result.outcome != ChangeOutcome::kApplied) {
    // The record stays RESERVED although nothing was sent. Treat it as UNKNOWN in memory: the
    // bridge will answer ORDER_STATUS "not found" and it resolves to REJECTED after the TTL.
    o->phase = Phase::kUnknown;
    --reserving_or_sent_;
    o->unknown_reply = UnknownReply(o->key, now_us);
    o->next_query_ns = now_ns + cfg.unknown_query_interval_ms * kNsPerMs;
    ReplyAll(o, o->unknown_reply);
    return;
  }
  for (const Waiter& w : o->waiters) ReplyError(w, o->key, ErrorCode::kBridgeDown, true);
  o->waiters.clear();
  --reserving_or_sent_;
  EraseOrder(o);
}

void Gateway::Loop::SetOutcome(Order* o, RecordEvent event, absl::string_view reply) {
  if (o->outcome_pending) return;  // the first outcome learned wins; it is already being written
  o->outcome_pending = true;
  o->outcome_event = event;
  o->outcome_reply.assign(reply.data(), reply.size());
  changes_.push_back(Change::Event(event, o->key, o->outcome_reply));
  items_.push_back({o, BatchPurpose::kOutcome});
}

void Gateway::Loop::HandleOrderReply(Order* o, absl::string_view body, ReplyKind kind) {
  const BridgeReply r = DecodeBridgeReply(body);
  if (!r.parsed) {
    counters.bridge_anomalies.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("order {}: unparseable bridge reply ignored; outcome stays unknown", o->key);
    return;
  }
  if (r.has_uuid && r.uuid.view() != o->key) {
    counters.bridge_anomalies.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("order {}: bridge reply carries uuid {}; ignored", o->key, SV(r.uuid.view()));
    return;
  }
  std::string own;
  switch (r.status) {
    case BridgeStatus::kFilled:
      SetOutcome(o, RecordEvent::kOutcomeFilled, body);
      return;
    case BridgeStatus::kNoTicket:
      EncodeErrorReply(o->key, ErrorCode::kBridgeNoTicket, true,
                       "the bridge answered FILLED without a ticket: MT5 placed nothing", UnixUs(),
                       &own);
      SetOutcome(o, RecordEvent::kOutcomeRejected, own);
      return;
    case BridgeStatus::kRejected:
      SetOutcome(o, RecordEvent::kOutcomeRejected, body);
      return;
    case BridgeStatus::kError: {
      const absl::string_view code = r.error_code.view();
      if (kind != ReplyKind::kOrder) {
        // No OPEN/CLOSE is answered UNKNOWN_ACTION: it is the question that was not understood.
        if (code == "UNKNOWN_ACTION") {
          if (queries_enabled_) {
            spdlog::warn(
                "the bridge does not implement ORDER_STATUS: UNKNOWN orders wait for a "
                "late reply or an operator");
          }
          queries_enabled_ = false;
          return;
        }
        // "Never seen" is proof only once no copy of the order can still pass the bridge's TTL.
        const int64_t expired_after_us =
            o->signed_unix_us + (cfg.bridge_signature_ttl_ms + cfg.bridge_exec_margin_ms) * 1000;
        if (kind == ReplyKind::kQuery && code == "NOT_FOUND" &&
            o->query_sent_unix_us > expired_after_us) {
          EncodeStatusReply(o->key, "REJECTED", "BRIDGE_NOT_EXECUTED",
                            "the bridge has no record of this order and its signature has "
                            "expired: it was never executed",
                            UnixUs(), &own);
          SetOutcome(o, RecordEvent::kOutcomeRejected, own);
        }
        return;
      }
      // The bridge refused the request before touching MT5 only for these envelope errors; any
      // other "error" (SERVER_ERROR, ...) may have happened after execution: stay unknown.
      if (code == "INVALID_JSON" || code == "MISSING_ACTION" || code == "UNKNOWN_ACTION") {
        SetOutcome(o, RecordEvent::kOutcomeRejected, body);
      } else {
        counters.bridge_anomalies.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("order {}: bridge error {} leaves the outcome unknown", o->key, SV(code));
      }
      return;
    }
    case BridgeStatus::kOk:
    case BridgeStatus::kOther:
      // "ok", "PENDING", no status, a FILLED whose ticket is unreadable: nothing that settles
      // the order. The reply consumed the request, so none will follow: the order becomes UNKNOWN
      // at its bridge deadline (ExpireBridgeDeadlines), or stays UNKNOWN and is asked again.
      if (kind != ReplyKind::kQuery) {
        counters.bridge_anomalies.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("order {}: bridge reply settles nothing; the outcome stays unknown: {}",
                     o->key, SV(body.substr(0, 200)));
      }
      return;
  }
}

void Gateway::Loop::HandleBridgeEvent(const BridgeEvent& ev) {
  if (ev.kind != BridgeEventKind::kTimedOut) capacity_->OnReply(ev.sent_ns, events_ns_);
  if (auto rit = relays_.find(ev.token); rit != relays_.end()) {
    const Relay& relay = rit->second;
    if (ev.kind == BridgeEventKind::kReply) {
      // The bridge echoed ordergate's id: the strategy gets its own uuid back.
      if (SwapTopLevelUuid(ev.body, relay.client.json, &reply_, nullptr)) {
        (void)front->Reply(relay.route, reply_);
      } else {
        (void)front->Reply(relay.route, ev.body);
      }
    } else if (ev.kind == BridgeEventKind::kTimedOut) {
      counters.relay_timeouts.fetch_add(1, std::memory_order_relaxed);
      scratch_.clear();
      EncodeErrorReply(relay.client.is_string ? absl::string_view(relay.client.text) : "",
                       ErrorCode::kBridgeTimeout, false,
                       "no reply from the bridge before the reply deadline", UnixUs(), &scratch_);
      (void)front->Reply(relay.route, scratch_);
      // Not forgotten at the link: the bridge still holds the request and will answer it in
      // turn; the entry lingers to take that late reply (dropped here) and counts as unanswered.
    }
    relays_.erase(rit);
    return;
  }
  auto oit = orders_by_token_.find(ev.token);
  if (oit == orders_by_token_.end()) return;  // forgotten: resolved already or superseded
  Order* o = oit->second;
  const bool is_query = ev.token == o->query_token;
  if (ev.kind == BridgeEventKind::kTimedOut) {
    if (is_query) {
      ForgetToken(&o->query_token);  // asked again at next_query_ns
      return;
    }
    MarkTimedOut(o);
    return;
  }
  // A reply consumes its entry at the link; drop ours too, then read it for what it can mean.
  const bool ambiguous = is_query ? o->query_shadowed : o->order_shadowed;
  ReplyKind kind =
      ambiguous ? ReplyKind::kEither : (is_query ? ReplyKind::kQuery : ReplyKind::kOrder);
  if (is_query) {
    ForgetToken(&o->query_token);
    o->query_shadowed = false;
  } else {
    // The order's own reply, in time (a timed-out order is UNKNOWN or about to be): the bridge
    // stage ends at this poll's clock read.
    if (o->phase == Phase::kSent && !o->outcome_pending) {
      latency.bridge.Record(events_ns_ - o->sent_ns);
    }
    ForgetToken(&o->order_token);
  }
  HandleOrderReply(o, ev.body, kind);
}

void Gateway::Loop::MarkTimedOut(Order* o) {
  if (o->phase != Phase::kSent || o->outcome_pending) return;
  o->outcome_pending = true;
  o->outcome_event = RecordEvent::kBridgeTimedOut;
  o->outcome_reply = UnknownReply(o->key, UnixUs());
  changes_.push_back(Change::Event(RecordEvent::kBridgeTimedOut, o->key, o->outcome_reply));
  items_.push_back({o, BatchPurpose::kOutcome});
}

void Gateway::Loop::ExpireBridgeDeadlines(int64_t now_ns) {
  while (!bridge_deadlines_.empty() && bridge_deadlines_.top().deadline_ns <= now_ns) {
    const uint64_t id = bridge_deadlines_.top().order_id;
    bridge_deadlines_.pop();
    auto it = orders_by_id_.find(id);
    if (it == orders_by_id_.end()) continue;  // settled and erased
    // The link reports the deadline of a request it still correlates (kTimedOut); this catches
    // the order whose reply came and settled nothing, so that it never stays RESERVED forever.
    MarkTimedOut(it->second);
  }
}

void Gateway::Loop::SendDueQueries(int64_t now_ns) {
  if (!queries_enabled_ || now_ns < next_query_scan_ns_) return;
  next_query_scan_ns_ = now_ns + 100 * kNsPerMs;
  if (!link->IsUp()) return;
  for (auto& [key, owned] : orders_) {
    Order* o = owned.get();
    if (o->phase != Phase::kUnknown || o->outcome_pending || o->next_query_ns > now_ns) continue;
    if (o->query_token != 0) continue;            // the last question is still out
    if (!BridgeHasRoom(/*relay=*/false)) return;  // asked in a later scan
    scratch_.clear();
    EncodeBridgeOrderStatus(o->key, &scratch_);
    const uint64_t token = next_token_++;
    const bool idle = link->outstanding() == 0;
    if (!link->Send(token, o->key, scratch_, now_ns + kQueryTimeoutMs * kNsPerMs).ok()) return;
    capacity_->OnSent(SteadyNs(), idle);
    o->query_token = token;
    orders_by_token_[token] = o;
    // The order's late reply may still come on this connection: then the replies are ambiguous.
    o->query_shadowed = o->order_token != 0 && link->IsCorrelated(o->order_token);
    o->order_shadowed = o->order_shadowed || o->query_shadowed;
    o->query_sent_unix_us = UnixUs();
    o->next_query_ns = now_ns + cfg.unknown_query_interval_ms * kNsPerMs;
  }
}

// ---------------------------------------------------------------------------------------------
// The store batch

void Gateway::Loop::CommitBatch(int64_t now_ns) {
  if (!retry_outcomes_.empty() && now_ns >= store_retry_not_before_ns_) {
    for (Order* o : retry_outcomes_) {
      changes_.push_back(Change::Event(o->outcome_event, o->key, o->outcome_reply));
      items_.push_back({o, BatchPurpose::kOutcome});
    }
    retry_outcomes_.clear();
  }
  if (changes_.empty()) return;
  results_.assign(changes_.size(), ChangeResult{});
  const int64_t now_us = UnixUs();
  const int64_t apply_start_ns = SteadyNs();
  const absl::Status applied = store->Apply(changes_, now_us / 1000, absl::MakeSpan(results_));
  const int64_t apply_end_ns = SteadyNs();
  latency.store_apply.Record(apply_end_ns - apply_start_ns);
  counters.store_batches.fetch_add(1, std::memory_order_relaxed);

  // The handlers below answer, send and erase orders; none of them adds to the batch, so items_ and
  // results_ are read in place and cleared at the end (their capacity is kept for the next batch).
  // changes_ holds views into orders about to be erased: clear it first.
  changes_.clear();

  if (!applied.ok()) {
    // Fail closed: nothing of the batch is durable, so nothing new is sent.
    spdlog::error("store write failed ({}): {} change(s) not applied; failing closed",
                  absl::StatusCodeToString(applied.code()), items_.size());
    for (const BatchItem& item : items_) {
      Order* o = item.order;
      if (item.purpose == BatchPurpose::kReserve) {
        for (const Waiter& w : o->waiters) {
          ReplyError(w, o->key, ErrorCode::kStoreUnavailable, true);
        }
        o->waiters.clear();
        --reserving_or_sent_;
        --reserving_;
        EraseOrder(o);
      } else {
        retry_outcomes_.push_back(o);  // learned, not yet durable: clients wait (PENDING)
      }
    }
    store_retry_not_before_ns_ = now_ns + kStoreRetryMs * kNsPerMs;
    items_.clear();
    RecountInFlight();
    return;
  }

  for (size_t i = 0; i < items_.size(); ++i) {
    Order* o = items_[i].order;
    const ChangeResult& res = results_[i];
    if (items_[i].purpose == BatchPurpose::kReserve) {
      --reserving_;
      latency.reserve.Record(apply_end_ns - o->arrived_ns);
      if (res.outcome == ChangeOutcome::kApplied) {
        window_counters.accepted.fetch_add(1, std::memory_order_relaxed);
        SendOrder(o, now_ns);
        continue;
      }
      --reserving_or_sent_;
      if (res.outcome == ChangeOutcome::kExists && res.existing) {
        for (const Waiter& w : o->waiters) {
          AnswerFromRecord(w, o->key, o->fingerprint, *res.existing, /*check_fingerprint=*/true);
        }
      } else {
        for (const Waiter& w : o->waiters) {
          ReplyError(w, o->key, ErrorCode::kStoreUnavailable, true);
        }
      }
      o->waiters.clear();
      EraseOrder(o);
      continue;
    }
    // An outcome (FILLED / REJECTED / UNKNOWN at the bridge deadline).
    o->outcome_pending = false;
    if (res.outcome != ChangeOutcome::kApplied) {
      spdlog::error("order {}: store refused transition to {} (state {}); replaying the record",
                    o->key, static_cast<int>(o->outcome_event),
                    SV(idempotency::StateName(res.state_after)));
      if (o->phase == Phase::kSent) --reserving_or_sent_;
      if (res.existing) {
        for (const Waiter& w : o->waiters) {
          AnswerFromRecord(w, o->key, {}, *res.existing, /*check_fingerprint=*/false);
        }
      }
      o->waiters.clear();
      EraseOrder(o);
      continue;
    }
    if (o->outcome_event == RecordEvent::kBridgeTimedOut) {
      --reserving_or_sent_;
      o->phase = Phase::kUnknown;
      o->unknown_reply = std::move(o->outcome_reply);
      o->next_query_ns = now_ns + cfg.unknown_query_interval_ms * kNsPerMs;
      counters.orders_unknown.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("order {} UNKNOWN: no bridge reply within {} ms", o->key, cfg.bridge_timeout_ms);
      ReplyAll(o, o->unknown_reply);
      continue;
    }
    const bool filled = o->outcome_event == RecordEvent::kOutcomeFilled;
    (filled ? counters.orders_filled : counters.orders_rejected)
        .fetch_add(1, std::memory_order_relaxed);
    if (o->phase == Phase::kUnknown) {
      counters.unknown_resolved.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("order {} resolved UNKNOWN -> {}", o->key, filled ? "FILLED" : "REJECTED");
    } else {
      --reserving_or_sent_;
      // Per order: debug only, a synchronous log line per fill would cost more than the order.
      spdlog::debug("order {} {}", o->key, filled ? "FILLED" : "REJECTED");
    }
    const bool timed_total = o->phase == Phase::kSent;  // not a resolved UNKNOWN
    const bool answered = !o->waiters.empty();
    ReplyAll(o, o->outcome_reply);
    // Ends at the last reply's clock read (the original's, unless retries joined it); recorded
    // even when every client gave up waiting, so slow orders are not left out of the tail.
    if (timed_total) latency.total.Record((answered ? last_reply_ns_ : SteadyNs()) - o->arrived_ns);
    EraseOrder(o);
  }
  items_.clear();
  RecountInFlight();
}

// ---------------------------------------------------------------------------------------------
// Operator resolutions

void Gateway::Loop::ApplyResolutions() {
  if (!resolutions.HasQueued()) return;
  resolutions.Take(&taken_resolutions_);
  for (const std::shared_ptr<PendingResolution>& p : taken_resolutions_) {
    resolutions.Complete(p, ApplyResolution(p->request));
  }
  taken_resolutions_.clear();
  RecountInFlight();
}

absl::StatusOr<ResolutionResult> Gateway::Loop::ApplyResolution(const Resolution& r) {
  const auto refuse = [&r](absl::string_view state) {
    return absl::FailedPreconditionError(
        absl::StrCat("order ", r.uuid, " is ", state,
                     ": only an UNKNOWN order can be resolved; nothing changed"));
  };
  auto it = orders_.find(absl::string_view(r.uuid));
  Order* o = it == orders_.end() ? nullptr : it->second.get();
  if (o != nullptr && o->phase != Phase::kUnknown) {
    return refuse("RESERVED (at the bridge, waiting for its reply)");
  }
  if (o != nullptr && o->outcome_pending) {
    // Only an outcome whose write failed is still pending here (CommitBatch ran just before).
    return absl::FailedPreconditionError(
        absl::StrCat("order ", r.uuid,
                     ": an outcome from the bridge is waiting to be written (the store is "
                     "failing); nothing changed: look the order up again"));
  }
  if (o == nullptr) {
    // Not in memory: an UNKNOWN of another gateway on a shared store, or no UNKNOWN at all.
    auto rec = store->Lookup(r.uuid);
    if (!rec.ok()) {
      return absl::UnavailableError(absl::StrCat("the store cannot be read (",
                                                 absl::StatusCodeToString(rec.status().code()),
                                                 "): nothing changed"));
    }
    if (!rec->has_value()) {
      return absl::NotFoundError(absl::StrCat(
          "no order ", r.uuid,
          " in the store (never accepted, refused before it was sent, or expired after "
          "retention): nothing changed"));
    }
    if ((*rec)->state != RecordState::kUnknown) {
      return refuse(idempotency::StateName((*rec)->state));
    }
  }
  const int64_t now_us = UnixUs();
  ResolutionResult done;
  done.uuid = r.uuid;
  done.resolved_unix_ms = now_us / 1000;
  EncodeResolutionReply(r, now_us, &done.reply);
  const bool filled = r.outcome == ResolvedOutcome::kFilled;
  const RecordEvent event = filled ? RecordEvent::kOutcomeFilled : RecordEvent::kOutcomeRejected;
  // The same transition table as a late bridge reply: Apply() moves UNKNOWN -> FILLED|REJECTED.
  const Change change = Change::Event(event, r.uuid, done.reply);
  ChangeResult result;
  const absl::Status applied = store->Apply({&change, 1}, done.resolved_unix_ms, {&result, 1});
  counters.store_batches.fetch_add(1, std::memory_order_relaxed);
  if (!applied.ok()) {
    spdlog::error("order {}: operator resolution not recorded: store write failed ({})", r.uuid,
                  absl::StatusCodeToString(applied.code()));
    return absl::UnavailableError(
        absl::StrCat("the store could not write (", absl::StatusCodeToString(applied.code()),
                     "): the resolution is not recorded; as with any failed write, a restart "
                     "may still find it: look the order up before trying again"));
  }
  if (result.outcome != ChangeOutcome::kApplied) {
    return refuse(result.existing ? idempotency::StateName(result.existing->state) : "ABSENT");
  }
  done.to = result.state_after;
  (filled ? counters.orders_filled : counters.orders_rejected)
      .fetch_add(1, std::memory_order_relaxed);
  counters.unknown_resolved.fetch_add(1, std::memory_order_relaxed);
  std::string what = filled ? absl::StrCat("FILLED ticket ", r.ticket) : "REJECTED";
  if (filled && r.price) absl::StrAppend(&what, " price ", *r.price);
  if (!filled) absl::StrAppend(&what, " reason \"", r.reason, "\"");
  std::string at;
  AppendIsoTimestamp(now_us, /*basic=*/false, &at);
  std::string who = r.operator_name.empty() ? std::string("an operator who gave no name")
                                            : absl::StrCat("operator \"", r.operator_name, "\"");
  if (!r.admitted_as.empty()) absl::StrAppend(&who, " (", r.admitted_as, ")");
  spdlog::info("order {} resolved UNKNOWN -> {} by {} at {}", r.uuid, what, who, at);
  if (o != nullptr) {
    ReplyAll(o, done.reply);  // an UNKNOWN order has no waiters; kept for any that joined
    EraseOrder(o);            // no longer asked about; a late reply to it is dropped
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// The loop

void Gateway::Loop::OnLinkChanged(bool up, int64_t now_ns) {
  const double lasted_s = static_cast<double>(now_ns - link_changed_ns_) / 1e9;
  if (up) {
    spdlog::info("bridge link up ({}) after {:.3f} s down", cfg.bridge, lasted_s);
  } else {
    capacity_->OnDisconnected();
    spdlog::warn(
        "bridge link DOWN ({}) after {:.3f} s up; {} order(s) at the bridge become UNKNOWN at "
        "their deadline; new orders get BRIDGE_DOWN",
        cfg.bridge, lasted_s, reserving_or_sent_);
  }
  link_was_up_ = up;
  link_changed_ns_ = now_ns;
}

int64_t Gateway::Loop::PollTimeoutMs(int64_t now_ns) const {
  int64_t next = link->NextDeadlineNs();
  if (!waiter_deadlines_.empty()) next = std::min(next, waiter_deadlines_.top().deadline_ns);
  if (!retry_outcomes_.empty()) next = std::min(next, store_retry_not_before_ns_);
  if (!bridge_deadlines_.empty()) next = std::min(next, bridge_deadlines_.top().deadline_ns);
  if (next <= now_ns) return 0;
  const int64_t ms = (next - now_ns + kNsPerMs - 1) / kNsPerMs;
  return std::min<int64_t>(ms, kMaxPollMs);
}

bool Gateway::Loop::Drained() const {
  return reserving_or_sent_ == 0 && relays_.empty() && retry_outcomes_.empty();
}

absl::Status Gateway::Loop::Run() {
  if (own_store_ != nullptr) own_store_->KeepDirectory();
  ready.store(true);
  transport::PollEntry entries[3] = {
      {front->poll_handle()}, {link->poll_handle()}, {link->monitor_handle()}};
  int64_t stop_deadline_ns = std::numeric_limits<int64_t>::max();
  bool stopping = false;
  while (true) {
    int64_t now_ns = SteadyNs();
    for (auto& e : entries) e.readable = false;
    auto polled =
        transport::PollReadable(absl::MakeSpan(entries), static_cast<int>(PollTimeoutMs(now_ns)));
    if (!polled.ok()) {
      ready.store(false);
      resolutions.Close(absl::UnavailableError("the order loop failed: nothing changed"));
      return polled.status();
    }
    now_ns = SteadyNs();

    events_.clear();
    link->Poll(now_ns, &events_);
    events_ns_ = now_ns;
    const bool up = link->IsUp();
    if (up != link_was_up_) OnLinkChanged(up, now_ns);
    bridge_up.store(up, std::memory_order_relaxed);
    if (!events_.empty()) last_bridge_reply_ns.store(now_ns, std::memory_order_relaxed);
    bridge_capacity.store(capacity_->Limit(now_ns, link->outstanding() > 0),
                          std::memory_order_relaxed);
    bridge_service_ns.store(capacity_->service_ns(), std::memory_order_relaxed);
    for (const BridgeEvent& ev : events_) HandleBridgeEvent(ev);
    ExpireBridgeDeadlines(now_ns);

    DrainFrontEnd(now_ns);
    SendDueQueries(now_ns);
    CommitBatch(now_ns);
    ApplyResolutions();
    ExpireWaiters(now_ns);
    AdvanceMinuteWindows(*windows, *store, UnixUs() / 1000);

    if (stop_requested.load(std::memory_order_relaxed) && !stopping) {
      stopping = true;
      ready.store(false);
      stop_deadline_ns = now_ns + (cfg.bridge_timeout_ms + 1000) * kNsPerMs;
      spdlog::info("stopping: no new orders; waiting for {} in flight", reserving_or_sent_);
    }
    if (stopping && (Drained() || now_ns >= stop_deadline_ns)) break;
  }
  // Answer whoever still waits, so no REQ client is left hanging on a closed gateway.
  const int64_t now_ns = SteadyNs();
  for (auto& [key, owned] : orders_) {
    for (Waiter& w : owned->waiters) w.deadline_ns = now_ns;
  }
  ExpireWaiters(now_ns + 1);
  AdvanceMinuteWindows(*windows, *store, UnixUs() / 1000, /*force_flush=*/true);
  spdlog::info("stopped: {} order(s) left UNKNOWN or in flight in the store", orders_.size());
  resolutions.Close(absl::UnavailableError("the gateway is stopping: nothing changed"));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Gateway

Gateway::Gateway() = default;
Gateway::~Gateway() {
  if (loop_) {
    // Sockets before the context, or queued replies are lost. The store before the context: its
    // LOCK must go as soon as the loop is over (a replacement gateway waits for it), while closing
    // the context may wait out the front end's linger for clients that do not read.
    loop_->front.reset();
    loop_->link.reset();
    loop_->store.reset();
    loop_->io.reset();
  }
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayConfig& cfg) {
  return Start(cfg, nullptr);
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayConfig& cfg,
                                                        std::unique_ptr<idempotency::Store> store) {
  absl::Status valid = ValidateConfig(cfg);
  if (!valid.ok()) return valid;
  // Before the store: a token file anyone may read refuses the start without touching anything.
  absl::StatusOr<std::string> token = ReadAdminTokenFile(cfg.admin_token_file);
  if (!token.ok()) return token.status();
  std::unique_ptr<Gateway> gw(new Gateway());
  gw->loop_ = std::make_unique<Loop>();
  gw->loop_->cfg = cfg;
  gw->loop_->admin_token = std::move(*token);
  gw->loop_->store = std::move(store);
  absl::Status init = gw->loop_->Init();
  if (!init.ok()) return init;
  return gw;
}

absl::Status Gateway::Run() { return loop_->Run(); }
void Gateway::Stop() { loop_->stop_requested.store(true); }
const std::string& Gateway::front_endpoint() const { return loop_->front_endpoint; }
bool Gateway::ready() const { return loop_->ready.load(); }
bool Gateway::bridge_up() const { return loop_->bridge_up.load(); }
int64_t Gateway::bridge_reply_age_ms() const {
  const int64_t at = loop_->last_bridge_reply_ns.load(std::memory_order_relaxed);
  return at == 0 ? -1 : (SteadyNs() - at) / kNsPerMs;
}
uint64_t Gateway::bridge_capacity() const { return loop_->bridge_capacity.load(); }
int64_t Gateway::bridge_service_us() const { return loop_->bridge_service_ns.load() / 1000; }
transport::FrontEndStats Gateway::front_end_stats() const { return loop_->front->stats(); }
int Gateway::front_end_max_connections() const { return loop_->front->max_connections(); }
uint64_t Gateway::in_flight() const { return loop_->in_flight.load(); }
const GatewayCounters& Gateway::counters() const { return loop_->counters; }
const GatewayConfig& Gateway::config() const { return loop_->cfg; }
const StageLatency& Gateway::stage_latency() const { return loop_->latency; }
const MinuteWindows& Gateway::minute_windows() const { return *loop_->windows; }
absl::StatusOr<ResolutionResult> Gateway::ResolveUnknown(const Resolution& r,
                                                         absl::Duration wait) const {
  if (absl::Status fields = CheckResolution(r); !fields.ok()) return fields;
  return loop_->resolutions.Submit(r, wait);
}
absl::StatusOr<std::vector<Record>> Gateway::ListInFlightOrders() const {
  return loop_->store->ListInFlight();
}
absl::StatusOr<std::optional<Record>> Gateway::LookupOrder(absl::string_view uuid) const {
  return loop_->store->Lookup(uuid);
}
const std::string& Gateway::admin_token() const { return loop_->admin_token; }

}  // namespace ordergate::gateway
