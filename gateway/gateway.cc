// Gateway: start-up (Init), the event loop (Run) and the public calls. The steps the loop takes are
// in gateway_requests.cc, gateway_bridge.cc and gateway_outcomes.cc; its state in gateway_loop.h.
#include "gateway/gateway.h"

#include <pthread.h>

#include "gateway/front_end_security.h"
#include "gateway/gateway_loop.h"
#include "gateway/local_store.h"

namespace ordergate::gateway {

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

  if (store == nullptr && cfg.guard == "postgres") {
    const SharedGuardOpener open = GetSharedGuardOpener();
    if (open == nullptr) {
      return absl::UnimplementedError(
          "guard = postgres: this program does not include the PostgreSQL guard (ordergated "
          "does; the embedded library does not)");
    }
    auto opened = open(cfg);
    if (!opened.ok()) return opened.status();
    counters.recovered_unknown = opened->recovered;
    store = std::move(opened->store);
    guard = std::move(opened->guard);
  } else if (store == nullptr) {
    auto opened = OpenLocalStore(cfg);
    if (!opened.ok()) return opened.status();
    counters.recovered_unknown = opened->recovered;
    keep_store_directory_ = std::move(opened->keep_directory);
    store = std::move(opened->store);
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
    // Signed, at the latest, before this process started.
    (void)NewUnknownOrder(rec, start_unix_us_, now_ns);
  }
  if (!orders_.empty()) {
    spdlog::warn(
        "{} UNKNOWN order(s) in the store ({} recovered from RESERVED at open); they are "
        "never resent, only asked about",
        orders_.size(), counters.recovered_unknown.load());
  }

  // A simulated pipeline has no sockets: its bridge port was given, and its door is the inbox.
  if (!simulated) {
    auto io_or = transport::IoContext::Create(1);
    if (!io_or.ok()) return io_or.status();
    io = std::move(*io_or);
  }

  if (sink == nullptr && front == nullptr) {
    transport::FrontEndOptions fopts;
    fopts.endpoint = cfg.listen;
    fopts.max_message_bytes = cfg.max_message_bytes;
    if (absl::Status secured = ConfigureFrontEndSecurity(cfg, &fopts); !secured.ok()) {
      return secured;
    }
    auto fe = transport::FrontEnd::Bind(*io, fopts);
    if (!fe.ok()) {
      return absl::Status(fe.status().code(), absl::StrCat("cannot listen on ", cfg.listen, ": ",
                                                           fe.status().message()));
    }
    zmq_front = fe->get();
    front_endpoint = zmq_front->endpoint();
    front = std::move(*fe);
  }
  if (sink != nullptr) {
    auto made = EmbeddedInbox::Create();
    if (!made.ok()) return made.status();
    inbox = std::move(*made);
  }

  if (!simulated) {
    transport::BridgeLinkOptions bopts;
    bopts.endpoint = cfg.bridge;
    bopts.late_reply_window_ms = cfg.late_reply_window_ms;
    auto bl = transport::BridgeLink::Connect(*io, bopts);
    if (!bl.ok()) {
      return absl::Status(bl.status().code(),
                          absl::StrCat("cannot connect to the bridge at ", cfg.bridge, ": ",
                                       bl.status().message()));
    }
    zmq_link = bl->get();
    link = std::move(*bl);
  }

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
  for (PipelineBatch& pb : batches_) {
    pb.batch.changes.reserve(static_cast<size_t>(cfg.max_batch) * 2);
    pb.batch.results.reserve(static_cast<size_t>(cfg.max_batch) * 2);
    pb.items.reserve(static_cast<size_t>(cfg.max_batch) * 2);
  }
  auto started =
      simulated ? Journal::StartManual(store.get(), *clock) : Journal::Start(store.get(), *clock);
  if (!started.ok()) return started.status();
  journal = std::move(*started);
  const StoreReader::Options reads{.pause_ms = kStoreReadPauseMs};
  auto reading = simulated ? StoreReader::StartManual(store.get(), *clock, reads)
                           : StoreReader::Start(store.get(), *clock, reads);
  if (!reading.ok()) return reading.status();
  reader = std::move(*reading);
  // Last, so that a start failing before it leaves no audit file behind (in a data directory the
  // store would remove). A simulated pipeline does no I/O of its own.
  if (!cfg.audit_log.empty() && !simulated) {
    auto opened = AuditLog::Open({.path = AuditLogPath(cfg.audit_log, cfg.data_dir),
                                  .max_bytes = cfg.audit_log_max_bytes,
                                  .keep = cfg.audit_log_keep});
    if (!opened.ok()) return opened.status();
    audit = std::move(*opened);
  }
  return absl::OkStatus();
}

Order* Gateway::Loop::NewOrder(absl::string_view key, const Request& req,
                               absl::string_view canonical, absl::string_view fingerprint) {
  std::unique_ptr<Order> owned;
  if (free_orders_.empty()) {
    owned = std::make_unique<Order>();
  } else {
    owned = std::move(free_orders_.back());
    free_orders_.pop_back();
  }
  Order* o = owned.get();
  o->id = next_id_++;
  o->key.assign(key.data(), key.size());
  const ScopedUuid scope = SplitStoreKey(o->key);
  o->uuid.assign(scope.uuid.data(), scope.uuid.size());
  AppendBridgeUuid(scope.identity, scope.uuid, &o->bridge_uuid);
  o->request = req;
  // Within the contract's length (34 <= 64 characters): cannot fail.
  if (!scope.identity.empty()) (void)o->request.uuid.value.Assign(o->bridge_uuid);
  o->canonical.assign(canonical.data(), canonical.size());
  o->fingerprint.assign(fingerprint.data(), fingerprint.size());
  orders_by_id_[o->id] = o;
  orders_.emplace(absl::string_view(o->key), std::move(owned));
  return o;
}

Order* Gateway::Loop::NewUnknownOrder(const Record& rec, int64_t signed_unix_us, int64_t now_ns) {
  Request req;
  req.action = Action::kOpen;
  if (!req.uuid.value.Assign(SplitStoreKey(rec.key).uuid)) return nullptr;
  Order* o = NewOrder(rec.key, req, {}, rec.fingerprint);
  Move(o, LifecycleEvent::kRecoveredUnknown);
  o->signed_unix_us = signed_unix_us;
  o->unknown_reply = rec.reply.empty() ? UnknownReply(o->uuid, signed_unix_us) : rec.reply;
  // "Not found" proves nothing until every copy the bridge may hold has expired.
  o->next_query_ns =
      now_ns + (cfg.bridge_signature_ttl_ms + cfg.bridge_exec_margin_ms + 100) * kNsPerMs;
  return o;
}

void Gateway::Loop::EraseOrder(Order* o) {
  // Enough spare orders for a burst at the bridge's in-flight bound; beyond it, memory goes back.
  constexpr size_t kMaxFreeOrders = 4096;
  if (o->phase != Phase::kDone) {
    // A bug: the lifecycle's counts would drift. Logged loudly; the order is forgotten anyway.
    spdlog::error("order {} erased in phase {}: the pipeline's lifecycle is out of step",
                  OrderLabel(o->key), SV(PhaseName(o->phase)));
  }
  ForgetToken(&o->order_token);
  ForgetToken(&o->query_token);
  if (o->risk_counted) risk.OnSettled(SplitStoreKey(o->key).identity);
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
  if (w.deadline_ns != kNoDeadline) waiter_deadlines_.push({w.deadline_ns, o->id});
}

void Gateway::Loop::RecountInFlight() {
  in_flight.store(life_.in_flight(), std::memory_order_relaxed);
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
        cfg.bridge, lasted_s, life_.in_flight());
  }
  link_was_up_ = up;
  link_changed_ns_ = now_ns;
}

int64_t Gateway::Loop::PollTimeoutMs(int64_t now_ns) const {
  int64_t next = link->NextDeadlineNs();
  if (!waiter_deadlines_.empty()) next = std::min(next, waiter_deadlines_.top().deadline_ns);
  if (!retry_outcomes_.empty()) next = std::min(next, store_retry_not_before_ns_);
  if (!bridge_deadlines_.empty()) next = std::min(next, bridge_deadlines_.top().deadline_ns);
  if (!foreign_waiters_.empty()) next = std::min(next, next_foreign_poll_ns_);
  if (next <= now_ns) return 0;
  const int64_t ms = (next - now_ns + kNsPerMs - 1) / kNsPerMs;
  return std::min<int64_t>(ms, kMaxPollMs);
}

bool Gateway::Loop::Drained() const {
  return life_.in_flight() == 0 && relays_.empty() && retry_outcomes_.empty() && !journal->busy() &&
         changes_.empty();
}

absl::Status Gateway::Loop::Run() {
  // Named for top -H, perf and gdb (the caller's thread: ordergated's, or the embedded Gateway's).
  if (simulated) {
    return absl::FailedPreconditionError("a simulated gateway is driven by Turn(), not Run()");
  }
  (void)pthread_setname_np(pthread_self(), "og-pipeline");
  if (keep_store_directory_) keep_store_directory_();
  if (guard != nullptr) guard->Start();
  ready.store(true);
  // The bridge link, the journal's and the reader's wake-ups, and the inbox's or the front end's,
  // whichever it has.
  transport::PollEntry entries[6];
  size_t polled_entries = 0;
  entries[polled_entries++] = {zmq_link->poll_handle()};
  entries[polled_entries++] = {zmq_link->monitor_handle()};
  entries[polled_entries++] = {nullptr, false, journal->wake_fd()};
  entries[polled_entries++] = {nullptr, false, reader->wake_fd()};
  if (inbox != nullptr) entries[polled_entries++] = {nullptr, false, inbox->wake_fd()};
  if (zmq_front != nullptr) entries[polled_entries++] = {zmq_front->poll_handle()};
  while (true) {
    const int64_t now_ns = SteadyNs();
    for (auto& e : entries) e.readable = false;
    auto polled = transport::PollReadable(absl::MakeSpan(entries, polled_entries),
                                          static_cast<int>(PollTimeoutMs(now_ns)));
    if (!polled.ok()) {
      ready.store(false);
      resolutions.Close(absl::UnavailableError("the order loop failed: nothing changed"));
      return polled.status();
    }
    if (Turn(SteadyNs())) break;
  }
  Finish();
  if (lease_lost_) {
    return absl::AbortedError(
        "the lease on the shared guard was lost: the gateway drained and stopped; a new process "
        "takes a fresh lease");
  }
  return absl::OkStatus();
}

bool Gateway::Loop::Turn(int64_t now_ns) {
  if (limits_pending.load(std::memory_order_acquire)) ApplyPendingLimits();
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
  DrainEmbedded();
  TakeReads(/*wait=*/false);
  if (guard != nullptr) {
    AdoptUnknown(now_ns);
    PollForeignWaiters(now_ns);
  }
  SendDueQueries(now_ns);
  PumpJournal(now_ns);
  ApplyResolutions();
  ExpireWaiters(now_ns);
  AdvanceMinuteWindows(*windows, *store, UnixUs() / 1000);

  // A lost lease is for good in this process: drain as on Stop(), then Run() says why it returned.
  if (guard != nullptr && !lease_lost_ && guard->Lost()) {
    lease_lost_ = true;
    stop_requested.store(true);
  }
  if (stop_requested.load(std::memory_order_relaxed) && !stopping_) {
    stopping_ = true;
    ready.store(false);
    stop_deadline_ns_ = now_ns + (cfg.bridge_timeout_ms + 1000) * kNsPerMs;
    spdlog::info("stopping: no new orders; waiting for {} in flight", life_.in_flight());
  }
  return stopping_ && (Drained() || now_ns >= stop_deadline_ns_);
}

void Gateway::Loop::Finish() {
  // In-process submissions that arrived too late are refused, as the front end's are.
  if (inbox != nullptr) {
    inbox->Close();
    DrainEmbedded();
  }
  // Requests waiting for a store read are answered once it is back (each read at most its store
  // call's deadline, the rest at once after a failure); a read asked again (its record moved on
  // meanwhile) is waited for too, a few rounds, and then answered as a failed read: nobody is left
  // without an answer.
  for (int round = 0; round < 4 && !pending_reads_.empty(); ++round) TakeReads(/*wait=*/true);
  while (!pending_reads_.empty()) {
    // Oldest first, not in the hash table's order (a seed replays the same run).
    auto oldest = pending_reads_.begin();
    for (auto it = pending_reads_.begin(); it != pending_reads_.end(); ++it) {
      if (it->first < oldest->first) oldest = it;
    }
    const PendingRead p = std::move(oldest->second);
    pending_reads_.erase(oldest);
    FinishRead(p, absl::Status(absl::StatusCode::kUnavailable, ""));
    audit_identity_ = {};
  }
  // What is being written or gathered is written now, and answered.
  FlushJournal();
  // Answer whoever still waits, so no REQ client is left hanging on a closed gateway, and no
  // in-process caller either: for it the order is UNKNOWN (it may have executed; never resent).
  const int64_t now_ns = SteadyNs();
  // Oldest first, as SendDueQueries, so that the replies' order does not depend on the hash table.
  sorted_orders_.clear();
  for (auto& [key, owned] : orders_) sorted_orders_.push_back(owned.get());
  std::sort(sorted_orders_.begin(), sorted_orders_.end(),
            [](const Order* a, const Order* b) { return a->id < b->id; });
  for (Order* owned : sorted_orders_) {
    std::vector<Waiter>& ws = owned->waiters;
    for (Waiter& w : ws) {
      if (w.embedded_id == 0) {
        w.deadline_ns = now_ns;
        continue;
      }
      scratch_.clear();
      EncodeStatusReply(owned->key, "UNKNOWN", "GATEWAY_STOPPED",
                        "the gateway closed before this order's outcome was recorded: it may "
                        "have executed; do not resend it under a new uuid",
                        UnixUs(), &scratch_);
      ReplyOrder(w, scratch_, !w.original);
    }
    ws.erase(
        std::remove_if(ws.begin(), ws.end(), [](const Waiter& w) { return w.embedded_id != 0; }),
        ws.end());
  }
  ExpireWaiters(now_ns + 1);
  // Retries of another gateway's order: that gateway answers for it, not this one.
  for (const ForeignWaiter& f : foreign_waiters_) {
    scratch_.clear();
    if (f.waiter.embedded_id == 0) {
      EncodeStatusReply(f.uuid, "PENDING", {}, {}, UnixUs(), &scratch_);
    } else {
      EncodeStatusReply(f.uuid, "UNKNOWN", "GATEWAY_STOPPED",
                        "the gateway closed before this order's outcome was recorded: it may "
                        "have executed; do not resend it under a new uuid",
                        UnixUs(), &scratch_);
    }
    ReplyOrder(f.waiter, scratch_, true);
  }
  foreign_waiters_.clear();
  AdvanceMinuteWindows(*windows, *store, UnixUs() / 1000, /*force_flush=*/true);
  // Every write is done: the lease goes, so that others take over what is left at once.
  if (guard != nullptr) guard->Release();
  spdlog::info("stopped: {} order(s) left UNKNOWN or in flight in the store", orders_.size());
  resolutions.Close(absl::UnavailableError("the gateway is stopping: nothing changed"));
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
    loop_->journal.reset();  // waits for a batch being written; before the store it writes to
    loop_->reader.reset();   // finishes the reads queued; before the store it reads
    loop_->guard.reset();    // joins the heartbeat, which uses the store
    loop_->store.reset();
    loop_->io.reset();
  }
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayConfig& cfg) {
  return Start(cfg, nullptr);
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayConfig& cfg,
                                                        std::unique_ptr<idempotency::Store> store) {
  return Start(cfg, std::move(store), nullptr, SystemClock());
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayConfig& cfg,
                                                        std::unique_ptr<idempotency::Store> store,
                                                        const Clock& clock) {
  return Start(cfg, std::move(store), nullptr, clock);
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::StartEmbedded(const GatewayConfig& cfg,
                                                                EmbeddedSink* sink) {
  if (sink == nullptr) return absl::InvalidArgumentError("StartEmbedded: no sink");
  return Start(cfg, nullptr, sink, SystemClock());
}

bool Gateway::SubmitEmbedded(const EmbeddedSubmission& s) const {
  return loop_->inbox != nullptr && loop_->inbox->Push(s);
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::StartSimulated(
    const GatewayConfig& cfg, std::unique_ptr<idempotency::Store> store, EmbeddedSink* sink,
    const Clock& clock, std::unique_ptr<transport::BridgePort> bridge,
    std::unique_ptr<transport::RequestPort> front) {
  if (sink == nullptr || store == nullptr || bridge == nullptr) {
    return absl::InvalidArgumentError(
        "StartSimulated: a sink, a store and a bridge port are needed");
  }
  return Start(cfg, std::move(store), sink, clock, std::move(bridge), std::move(front));
}

bool Gateway::Turn() {
  if (loop_->Turn(loop_->SteadyNs())) {
    loop_->Finish();
    return true;
  }
  return false;
}

bool Gateway::WriteJournal() { return loop_->journal->WritePending(); }

bool Gateway::JournalBusy() const { return loop_->journal->busy(); }

bool Gateway::ReadStore() { return loop_->reader->ReadPending(); }

bool Gateway::StoreReadsQueued() const { return loop_->reader->has_queued(); }

int64_t Gateway::NextTurnNs() const {
  const int64_t now_ns = loop_->SteadyNs();
  return now_ns + loop_->PollTimeoutMs(now_ns) * kNsPerMs;
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(
    const GatewayConfig& cfg, std::unique_ptr<idempotency::Store> store, EmbeddedSink* sink,
    const Clock& clock, std::unique_ptr<transport::BridgePort> bridge,
    std::unique_ptr<transport::RequestPort> front) {
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
  gw->loop_->sink = sink;
  gw->loop_->clock = &clock;
  if (bridge != nullptr) {
    gw->loop_->simulated = true;
    gw->loop_->link = std::move(bridge);
    gw->loop_->front = std::move(front);
  }
  absl::Status init = gw->loop_->Init();
  if (!init.ok()) return init;
  if (gw->loop_->simulated) gw->loop_->ready.store(true);  // Run()'s first step; there is no Run()
  return gw;
}

absl::Status Gateway::Run() { return loop_->Run(); }
void Gateway::Stop() { loop_->stop_requested.store(true); }
const std::string& Gateway::front_endpoint() const { return loop_->front_endpoint; }
bool Gateway::ready() const { return loop_->ready.load(); }
bool Gateway::bridge_up() const { return loop_->bridge_up.load(); }
int64_t Gateway::bridge_reply_age_ms() const {
  const int64_t at = loop_->last_bridge_reply_ns.load(std::memory_order_relaxed);
  return at == 0 ? -1 : (loop_->SteadyNs() - at) / kNsPerMs;
}
uint64_t Gateway::bridge_capacity() const { return loop_->bridge_capacity.load(); }
int64_t Gateway::bridge_service_us() const { return loop_->bridge_service_ns.load() / 1000; }
transport::FrontEndStats Gateway::front_end_stats() const {
  return loop_->zmq_front ? loop_->zmq_front->stats() : transport::FrontEndStats{};
}
int Gateway::front_end_max_connections() const {
  return loop_->zmq_front ? loop_->zmq_front->max_connections() : 0;
}
uint64_t Gateway::in_flight() const { return loop_->in_flight.load(); }
const GatewayCounters& Gateway::counters() const { return loop_->counters; }
void Gateway::ReplaceLimits(LimitsTable table) const {
  std::lock_guard<std::mutex> lock(loop_->limits_mu);
  loop_->pending_limits = std::move(table);
  loop_->limits_pending.store(true, std::memory_order_release);
}
absl::StatusOr<std::map<std::string, std::string>> Gateway::ReplaceCurveClients(
    std::map<std::string, std::string> clients) const {
  if (loop_->zmq_front == nullptr) {
    return absl::FailedPreconditionError("this gateway has no ZeroMQ front end");
  }
  return loop_->zmq_front->ReplaceCurveClients(std::move(clients));
}
std::optional<SharedGuardStats> Gateway::shared_guard_stats() const {
  if (loop_->guard == nullptr) return std::nullopt;
  SharedGuardStats s = loop_->guard->stats();
  const SharedGuardCounters& c = loop_->guard_counters;
  s.foreign_joins = c.foreign_joins.load(std::memory_order_relaxed);
  s.adopted_unknown = c.adopted_unknown.load(std::memory_order_relaxed);
  s.lease_refusals = c.lease_refusals.load(std::memory_order_relaxed);
  return s;
}
AuditLogStats Gateway::audit_log_stats() const {
  const AuditLog* log = loop_->audit.get();
  if (log == nullptr) return {};
  return {true, log->lines_written(), log->lines_dropped(), log->write_errors()};
}
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
absl::StatusOr<std::optional<Record>> Gateway::LookupOrder(absl::string_view key) const {
  return loop_->store->Lookup(key);
}
const std::string& Gateway::admin_token() const { return loop_->admin_token; }

}  // namespace ordergate::gateway
