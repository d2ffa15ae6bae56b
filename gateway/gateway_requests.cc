// Gateway::Loop, what strategies send: decoding, admission, joins and answers from the store, and
// every reply the front end sends.
#include "gateway/gateway_loop.h"

namespace ordergate::gateway {

// ---------------------------------------------------------------------------------------------
// Replies

void Gateway::Loop::ReplyOrder(const Waiter& w, absl::string_view object, bool duplicate,
                               bool recorded) {
  last_reply_ns_ = SteadyNs();
  const int64_t gateway_us = (last_reply_ns_ - w.received_ns) / 1000;
  if (duplicate) counters.duplicates.fetch_add(1, std::memory_order_relaxed);
  if (w.embedded_id != 0) {
    sink->Deliver(w.embedded_id, object, duplicate, recorded, gateway_us);
    return;
  }
  reply_.clear();
  if (w.envelope == Envelope::kMt5CrsV1) {
    EncodeV1Reply(object, duplicate, gateway_us, &reply_);
  } else {
    AppendWithGatewayFields(object, duplicate, gateway_us, &reply_);
  }
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
  ReplyOrder(w, scratch_, /*duplicate=*/false, /*recorded=*/false);
}

void Gateway::Loop::ReplyPending(const Waiter& w, absl::string_view uuid, bool duplicate) {
  scratch_.clear();
  EncodeStatusReply(uuid, "PENDING", {}, {}, UnixUs(), &scratch_);
  ReplyOrder(w, scratch_, duplicate);
}

void Gateway::Loop::ReplyPlainError(const ReplyRoute& route, absl::string_view uuid, ErrorCode code,
                                    absl::string_view msg) {
  scratch_.clear();
  EncodeErrorReply(uuid, code, /*is_order=*/false, msg, UnixUs(), &scratch_);
  (void)front->Reply(route, scratch_);
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
        ReplyPending(*w, o->uuid, !w->original);
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

void Gateway::Loop::DrainEmbedded() {
  if (inbox == nullptr) return;
  inbox->Drain(&embedded_);
  for (const EmbeddedSubmission& s : embedded_) {
    counters.requests.fetch_add(1, std::memory_order_relaxed);
    Waiter w{ReplyRoute{}, s.received_ns, kNoDeadline, true, s.id};
    HandleOrder(w, /*identity=*/{}, s.request);
  }
  embedded_.clear();
}

void Gateway::Loop::DrainFrontEnd(int64_t now_ns) {
  if (front == nullptr) return;
  for (int64_t n = 0; n < cfg.max_batch; ++n) {
    transport::ReceiveResult r = front->TryReceive(&inbound_);
    if (r == transport::ReceiveResult::kNone) break;
    if (r == transport::ReceiveResult::kDropped) {
      counters.dropped_frames.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counters.requests.fetch_add(1, std::memory_order_relaxed);
    HandleBody(inbound_.route, inbound_.identity, inbound_.body, now_ns);
  }
}

void Gateway::Loop::HandleBody(const ReplyRoute& route, absl::string_view identity,
                               absl::string_view body, int64_t received_ns) {
  Request req;
  const int64_t decode_start_ns = SteadyNs();
  const ErrorCode ec = DecodeRequest(body, limits_, UnixUs(), &req);
  latency.decode.Record(SteadyNs() - decode_start_ns);
  const int64_t timeout_ms = req.timeout_ms > 0 ? req.timeout_ms : cfg.client_timeout_ms;
  const int64_t margin_ms = std::min(cfg.reply_margin_ms, timeout_ms / 2);
  const int64_t deadline_ns = received_ns + (timeout_ms - margin_ms) * kNsPerMs;
  Waiter w{route, received_ns, deadline_ns, true};
  w.envelope = req.envelope;
  if (ec != ErrorCode::kOk) {
    const bool is_order = IsOrderAction(req.action);
    if (is_order || req.action == Action::kOrderStatus) {
      ReplyError(w, req.uuid.view(), ec, is_order);
    } else {
      counters.denied.fetch_add(1, std::memory_order_relaxed);
      ReplyPlainError(route, req.uuid.view(), ec);
    }
    return;
  }
  switch (req.action) {
    case Action::kOpen:
    case Action::kClose:
      HandleOrder(w, identity, req);
      return;
    case Action::kOrderStatus:
      HandleOrderStatus(route, identity, req, received_ns);
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
    counters.denied.fetch_add(1, std::memory_order_relaxed);
    ReplyPlainError(route, echo, code, msg);
  };
  if (!swapped) {
    refuse(ErrorCode::kInvalidJson, {});  // DecodeRequest accepted it: cannot happen
    return;
  }
  if (const Admission a = AdmitRelay(AdmissionNow()); !a.admitted) {
    if (a.by_capacity) {
      counters.busy_bridge_capacity.fetch_add(1, std::memory_order_relaxed);
      refuse(a.refusal,
             "the bridge's queue is at what it can serve within the signature TTL; retry later");
    } else {
      refuse(a.refusal, {});
    }
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

AdmissionState Gateway::Loop::AdmissionNow() const {
  AdmissionState s;
  s.stopping = stop_requested.load(std::memory_order_relaxed);
  s.link_up = link->IsUp();
  s.in_flight = life_.in_flight();
  s.max_in_flight = static_cast<uint64_t>(cfg.bridge_max_in_flight);
  s.unanswered = link->unanswered();
  s.reserving = life_.reserving();
  s.capacity_limit = capacity_->Limit(SteadyNs(), link->outstanding() > 0);
  return s;
}

void Gateway::Loop::AnswerFromRecord(const Waiter& w, absl::string_view uuid,
                                     absl::string_view fingerprint, const Record& rec,
                                     bool check_fingerprint) {
  if (check_fingerprint && rec.fingerprint != fingerprint) {
    Audit({.kind = AuditEventKind::kConflict,
           .identity = audit_identity_,
           .uuid = uuid,
           .error_code = "IDEMPOTENCY_CONFLICT",
           .message = "the uuid's record is another order"});
    ReplyError(w, uuid, ErrorCode::kIdempotencyConflict, true,
               "this uuid was already used for a different order; the record is unchanged");
    return;
  }
  // A resubmitted order answered from its record (a joined one was counted when it joined).
  if (check_fingerprint && w.original) {
    window_counters.duplicate_requests.fetch_add(1, std::memory_order_relaxed);
    Audit({.kind = AuditEventKind::kDuplicate,
           .identity = audit_identity_,
           .uuid = uuid,
           .message = idempotency::StateName(rec.state),
           .reply = rec.reply});
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
      // On the shared guard, a RESERVED record not in this process's memory is another live
      // gateway's order (this one's own were recovered at start): a resubmission waits for that
      // gateway's outcome, read from the store; it is never sent from here.
      if (guard != nullptr && check_fingerprint) {
        JoinForeign(w, rec.key, uuid);
        return;
      }
      [[fallthrough]];
    case RecordState::kAbsent: {
      // With RocksDB a RESERVED record is always in memory while this process runs; reaching here
      // means the store and the loop disagree, and the only safe answer is one that sends nothing.
      ReplyPending(w, uuid, true);
      return;
    }
  }
}

absl::StatusOr<std::optional<Record>> Gateway::Loop::ReadRecord(absl::string_view key) {
  const int64_t now_ns = SteadyNs();
  if (now_ns < store_reads_paused_until_ns_)
    return absl::Status(absl::StatusCode::kUnavailable, "");
  auto rec = store->Lookup(key);
  if (!rec.ok()) store_reads_paused_until_ns_ = SteadyNs() + kStoreReadPauseMs * kNsPerMs;
  return rec;
}

void Gateway::Loop::RefuseUnlessRecorded(const Waiter& w, const Request& req,
                                         absl::string_view fingerprint, ErrorCode refusal,
                                         absl::string_view msg) {
  PendingRead p =
      MakePendingRead(ReadPurpose::kRefusal, w, scope_key_, req.uuid.view(), audit_identity_);
  p.fingerprint = std::string(fingerprint);
  p.refusal = refusal;
  p.message = std::string(msg);
  p.request = req;
  ReadThen(p);
}

void Gateway::Loop::ReplyInFlightConflict(const Waiter& w, absl::string_view identity,
                                          absl::string_view uuid) {
  Audit({.kind = AuditEventKind::kConflict,
         .identity = identity,
         .uuid = uuid,
         .error_code = "IDEMPOTENCY_CONFLICT",
         .message = "the uuid is in flight for another order"});
  ReplyError(w, uuid, ErrorCode::kIdempotencyConflict, true,
             "this uuid is in flight for a different order; the record is unchanged");
}

void Gateway::Loop::JoinAsRetry(const Waiter& w, Order* o) {
  Waiter joined = w;
  joined.original = false;
  window_counters.duplicate_requests.fetch_add(1, std::memory_order_relaxed);
  {
    AuditEvent dup = OrderAudit(AuditEventKind::kDuplicate, *o);
    dup.message = PhaseName(o->phase);
    Audit(dup);
  }
  if (IsUnknown(o->phase)) {
    ReplyUnknownOrSettled(joined, *o);
    return;
  }
  AddWaiter(o, joined);  // joins the original: same outcome, or PENDING at its own deadline
}

void Gateway::Loop::ReadThen(const PendingRead& p) {
  const uint64_t ticket = next_read_ticket_++;
  if (!reader->Submit(ticket, p.key)) {
    // As many reads wait as the reader takes: answered as a failed read (nothing recorded, nothing
    // sent for this request), not queued without bound behind a slow store.
    FinishRead(p, absl::Status(absl::StatusCode::kUnavailable, ""));
    audit_identity_ = {};  // it viewed `p`
    return;
  }
  pending_reads_.emplace(ticket, p);
}

void Gateway::Loop::TakeReads(bool wait) {
  std::vector<StoreReader::Result> results;  // allocates only when reads came back
  if (wait) {
    reader->Drain(&results);
  } else {
    reader->TakeDone(&results);
  }
  for (const StoreReader::Result& r : results) {
    auto it = pending_reads_.find(r.ticket);
    if (it == pending_reads_.end()) continue;
    const PendingRead p = std::move(it->second);
    pending_reads_.erase(it);
    FinishRead(p, r.record);
    audit_identity_ = {};  // it viewed `p`
  }
}

void Gateway::Loop::FinishRead(const PendingRead& p,
                               const absl::StatusOr<std::optional<Record>>& rec) {
  const Waiter& w = p.waiter;
  audit_identity_ = p.identity;
  switch (p.purpose) {
    case ReadPurpose::kOrderStatus: {
      if (!rec.ok()) {
        ReplyError(w, p.uuid, ErrorCode::kStoreUnavailable, false);
        return;
      }
      if (rec->has_value()) {
        AnswerFromRecord(w, p.uuid, {}, **rec, /*check_fingerprint=*/false);
        return;
      }
      // No record: PENDING while the order is in memory here (being reserved when asked, or since).
      if (auto it = orders_.find(absl::string_view(p.key)); it != orders_.end()) {
        ReplyPending(w, it->second->uuid, true);
        return;
      }
      ReplyError(w, p.uuid, ErrorCode::kNotFound, false);
      return;
    }
    case ReadPurpose::kRefusal:
    case ReadPurpose::kConflict: {
      // Unread (the store unreachable: on the shared guard a conflicting reservation may itself be
      // what waits on it), nothing is known of which body the record holds: fail closed rather
      // than refuse or call this one the conflict.
      if (!rec.ok()) {
        ReplyError(w, p.uuid, ErrorCode::kStoreUnavailable, true);
        return;
      }
      // Terminal or UNKNOWN: the record answers, whatever happened since it was read.
      if (rec->has_value() && (*rec)->state != RecordState::kReserved) {
        AnswerFromRecord(w, p.uuid, p.fingerprint, **rec, /*check_fingerprint=*/true);
        return;
      }
      // RESERVED or absent: the uuid may be in flight here now (admitted since the read was asked):
      // this request joins it, or is its conflict, as if it had arrived now.
      if (auto it = orders_.find(absl::string_view(p.key)); it != orders_.end()) {
        if (it->second->fingerprint == p.fingerprint) {
          JoinAsRetry(w, it->second.get());
        } else {
          ReplyInFlightConflict(w, p.identity, p.uuid);
        }
        return;
      }
      if (rec->has_value()) {
        if (guard != nullptr) {  // another gateway's order: waits for its outcome
          AnswerFromRecord(w, p.uuid, p.fingerprint, **rec, /*check_fingerprint=*/true);
        } else {
          // This process's own RESERVED records are all in memory: it settled and left memory
          // between the read and now. Its record has moved on: read it again.
          ReadThen(p);
        }
        return;
      }
      if (p.purpose == ReadPurpose::kConflict) {
        ReplyInFlightConflict(w, p.identity, p.uuid);
        return;
      }
      if (p.refusal == ErrorCode::kRiskLimit) {
        const Request& req = p.request;
        Audit({.kind = AuditEventKind::kRiskRefused,
               .identity = p.identity,
               .uuid = p.uuid,
               .action = ActionName(req.action),
               .symbol = req.symbol.view(),
               .type = req.action == Action::kOpen ? OrderTypeName(req.type) : absl::string_view(),
               .volume = req.volume,
               .price = req.price,
               .error_code = ErrorCodeName(p.refusal),
               .message = p.message});
      }
      ReplyError(w, p.uuid, p.refusal, true, p.message);
      return;
    }
    case ReadPurpose::kUnknownOrSettled:
      if (rec.ok() && rec->has_value() && idempotency::IsTerminal((*rec)->state)) {
        AnswerFromRecord(w, p.uuid, {}, **rec, /*check_fingerprint=*/false);
        return;
      }
      ReplyOrder(w, p.unknown_reply, /*duplicate=*/true);
      return;
  }
}

void Gateway::Loop::Audit(AuditEvent e) {
  if (audit == nullptr) return;
  e.unix_us = UnixUs();
  (void)audit->Record(e);  // a full queue drops and counts (audit_log_stats): never waits
}

AuditEvent Gateway::Loop::OrderAudit(AuditEventKind kind, const Order& o) const {
  const bool open = o.request.action == Action::kOpen;
  AuditEvent e{.kind = kind,
               .identity = SplitStoreKey(o.key).identity,
               .uuid = o.uuid,
               .action = ActionName(o.request.action),
               .symbol = open ? o.request.symbol.view() : absl::string_view(),
               .type = open ? OrderTypeName(o.request.type) : absl::string_view(),
               .volume = open ? o.request.volume : 0,
               .price = open ? o.request.price : 0};
  if (o.bridge_uuid != o.uuid) e.bridge_uuid = o.bridge_uuid;
  return e;
}

void Gateway::Loop::ApplyPendingLimits() {
  std::optional<LimitsTable> table;
  {
    std::lock_guard<std::mutex> lock(limits_mu);
    table.swap(pending_limits);
    limits_pending.store(false, std::memory_order_relaxed);
  }
  if (!table) return;
  spdlog::info("pre-trade limits applied: {} named client(s){}", table->by_identity.size(),
               table->default_limits == ClientLimits{} ? "" : " and a default");
  risk.Replace(*std::move(table));
}

void Gateway::Loop::HandleOrder(const Waiter& original, absl::string_view identity,
                                const Request& req) {
  scope_key_.clear();
  AppendStoreKey(identity, req.uuid.view(), &scope_key_);
  audit_identity_ = identity;
  canonical_.clear();
  CanonicalOrderFields(req, &canonical_);
  const Fingerprint fp = FingerprintOf(canonical_);
  const absl::string_view fp_bytes = FingerprintBytes(fp);
  Waiter w = original;
  w.original = true;

  auto it = orders_.find(absl::string_view(scope_key_));
  if (it != orders_.end()) {
    Order* o = it->second.get();
    if (o->fingerprint != fp_bytes) {
      // A reservation still in the current batch may be a conflicting resend of a finished order
      // (it will meet kExists): then this request is that order, and the store has its outcome.
      // Unread (the store unreachable: on the shared guard the reservation itself may be what
      // waits on it), nothing is known of which body the record holds: fail closed rather than
      // call this one the conflict.
      if (o->phase == Phase::kReserving) {
        PendingRead p =
            MakePendingRead(ReadPurpose::kConflict, w, scope_key_, req.uuid.view(), identity);
        p.fingerprint = std::string(fp_bytes);
        ReadThen(p);
        return;
      }
      ReplyInFlightConflict(w, identity, req.uuid.view());
      return;
    }
    JoinAsRetry(w, o);
    return;
  }

  // The shared guard's lease (gateway/shared_guard.h): without a recent renewal this gateway may
  // not start an order another gateway could soon declare UNKNOWN.
  // Refused at once, without a store read: the database is most likely what is unreachable, and a
  // read would hold the loop for its connect timeout per order.
  if (guard != nullptr && !guard->MaySend()) {
    guard_counters.lease_refusals.fetch_add(1, std::memory_order_relaxed);
    ReplyError(w, req.uuid.view(), ErrorCode::kStoreUnavailable, true,
               "this gateway's lease on the shared guard is not renewed (the database is "
               "unreachable or the lease was lost): it takes no new order now");
    return;
  }
  if (const Admission a = AdmitOrder(AdmissionNow()); !a.admitted) {
    // By capacity: more than the bridge can serve within the TTL; it would only expire in its
    // queue.
    if (a.by_capacity) counters.busy_bridge_capacity.fetch_add(1, std::memory_order_relaxed);
    RefuseUnlessRecorded(w, req, fp_bytes, a.refusal);
    return;
  }
  // Pre-trade limits (gateway/risk_limits.h): a refusal records nothing and sends nothing, unless
  // the store already has this order's outcome (a resend is answered from its record).
  const RiskOrder risk_order{.is_close = req.action == Action::kClose,
                             .symbol = req.symbol.view(),
                             .volume = req.volume,
                             .price = req.price};
  if (RiskDecision d = risk.Check(identity, risk_order, SteadyNs()); !d.ok()) {
    counters.risk_refusals[static_cast<size_t>(d.limit)].fetch_add(1, std::memory_order_relaxed);
    RefuseUnlessRecorded(w, req, fp_bytes, ErrorCode::kRiskLimit, d.message);
    return;
  }
  Order* o = NewOrder(scope_key_, req, canonical_, fp_bytes);
  risk.OnReserved(identity);
  o->risk_counted = true;
  Move(o, LifecycleEvent::kAdmitted);
  o->arrived_ns = w.received_ns;
  AddWaiter(o, w);
  changes_.push_back(Change::Reserve(o->key, o->fingerprint));
  items_.push_back({o, BatchPurpose::kReserve});
}

void Gateway::Loop::ReplyUnknownOrSettled(const Waiter& w, const Order& o) {
  // On the shared guard several gateways may hold one UNKNOWN order (its owner's, and every
  // survivor that adopted it) and another may have settled it in the store since: its record, once
  // terminal, is the answer (the nemesis on that guard saw a client told REJECTED and then UNKNOWN
  // by a gateway answering from memory). Unread, the UNKNOWN this gateway holds is still true.
  if (guard == nullptr) {
    ReplyOrder(w, o.unknown_reply, /*duplicate=*/true);
    return;
  }
  PendingRead p = MakePendingRead(ReadPurpose::kUnknownOrSettled, w, o.key, o.uuid,
                                  SplitStoreKey(o.key).identity);
  p.unknown_reply = o.unknown_reply;
  ReadThen(p);
}

void Gateway::Loop::HandleOrderStatus(const ReplyRoute& route, absl::string_view identity,
                                      const Request& req, int64_t received_ns) {
  Waiter w{route, received_ns, received_ns, true};
  // The client's own scope only: another client's order of the same uuid is another order.
  scope_key_.clear();
  AppendStoreKey(identity, req.uuid.view(), &scope_key_);
  auto it = orders_.find(absl::string_view(scope_key_));
  // An order still being reserved in the current batch may be a resend of a finished one: the
  // store answers for it (PENDING only when it has no record yet).
  if (it != orders_.end() && it->second->phase != Phase::kReserving) {
    Order* o = it->second.get();
    if (IsUnknown(o->phase)) {
      ReplyUnknownOrSettled(w, *o);
    } else {
      ReplyPending(w, o->uuid, true);
    }
    return;
  }
  ReadThen(MakePendingRead(ReadPurpose::kOrderStatus, w, scope_key_, req.uuid.view(), identity));
}

}  // namespace ordergate::gateway
