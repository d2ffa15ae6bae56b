// Gateway::Loop, the bridge side: sending orders, reading replies, deadlines, ORDER_STATUS
// questions for UNKNOWN orders.
#include "gateway/gateway_loop.h"

namespace ordergate::gateway {

// ---------------------------------------------------------------------------------------------
// Bridge

void Gateway::Loop::SendOrder(Order* o, int64_t now_ns) {
  // Reserved under a lease that has since gone stale: sending now could pass the moment another
  // gateway declares this one's orders UNKNOWN. Released instead, as an order the link refused.
  if (guard != nullptr && !guard->MaySend()) {
    guard_counters.lease_refusals.fetch_add(1, std::memory_order_relaxed);
    ReleaseUnsent(o, now_ns, ErrorCode::kStoreUnavailable);
    return;
  }
  const int64_t now_us = UnixUs();
  scratch_.clear();
  std::string signature;
  if (o->request.action == Action::kOpen) AppendRiskSignature(o->canonical, now_us, &signature);
  EncodeBridgeRequest(o->request, signature, &scratch_);
  const uint64_t token = next_token_++;
  o->signed_unix_us = now_us;
  const bool idle = link->outstanding() == 0;
  const absl::Status sent =
      link->Send(token, o->bridge_uuid, scratch_, now_ns + cfg.bridge_timeout_ms * kNsPerMs);
  if (sent.ok()) {
    // Only a fresh reservation is sent (sent_ns is 0 until its one send): anything else would be
    // a second send of the uuid, which the windows report (duplicate_sends) and alerts watch.
    if (o->sent_ns != 0) {
      window_counters.duplicate_sends.fetch_add(1, std::memory_order_relaxed);
      counters.duplicate_sends.fetch_add(1, std::memory_order_relaxed);
    }
    o->sent_ns = SteadyNs();
    capacity_->OnSent(o->sent_ns, idle);
    Move(o, LifecycleEvent::kSent);
    Audit(OrderAudit(AuditEventKind::kSent, *o));
    o->order_token = token;
    o->bridge_deadline_ns = now_ns + cfg.bridge_timeout_ms * kNsPerMs;
    bridge_deadlines_.push({o->bridge_deadline_ns, o->id});
    orders_by_token_[token] = o;
    counters.orders_submitted.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Nothing left the process: release the reservation so the strategy may send the uuid again.
  ReleaseUnsent(o, now_ns, ErrorCode::kBridgeDown);
}

void Gateway::Loop::ReleaseUnsent(Order* o, int64_t now_ns, ErrorCode refusal) {
  const int64_t now_us = UnixUs();
  Change release = Change::Event(RecordEvent::kReleased, o->key);
  ChangeResult result;
  const absl::Status released = store->Apply({&release, 1}, now_us / 1000, {&result, 1});
  if (!released.ok() || result.outcome != ChangeOutcome::kApplied) {
    // The record stays RESERVED although nothing was sent. Treat it as UNKNOWN in memory: the
    // bridge will answer ORDER_STATUS "not found" and it resolves to REJECTED after the TTL.
    Move(o, LifecycleEvent::kReleaseFailed);
    o->unknown_reply = UnknownReply(o->uuid, now_us);
    o->next_query_ns = now_ns + cfg.unknown_query_interval_ms * kNsPerMs;
    ReplyAll(o, o->unknown_reply);
    return;
  }
  for (const Waiter& w : o->waiters) ReplyError(w, o->uuid, refusal, true);
  o->waiters.clear();
  Move(o, LifecycleEvent::kReleased);
  EraseOrder(o);
}

void Gateway::Loop::SetOutcome(Order* o, RecordEvent event, absl::string_view reply) {
  // From kSent or kUnknown only: while one is being written (settling) the first outcome wins.
  if (!Move(o, LifecycleEvent::kOutcomeLearned)) return;
  o->outcome_event = event;
  if (o->bridge_uuid == o->uuid) {
    o->outcome_reply.assign(reply.data(), reply.size());
  } else {
    // The bridge's reply names the order by its bridge uuid; the client, whose outcome this is
    // (and every replay of it), knows it by its own.
    std::string uuid_json;
    AppendJsonString(o->uuid, &uuid_json);
    if (!SwapTopLevelUuid(reply, uuid_json, &o->outcome_reply, nullptr)) {
      o->outcome_reply.assign(reply.data(), reply.size());  // not an object: never decoded so
    }
  }
  changes_.push_back(Change::Event(event, o->key, o->outcome_reply));
  items_.push_back({o, BatchPurpose::kOutcome});
}

void Gateway::Loop::HandleOrderReply(Order* o, absl::string_view body, ReplyKind kind) {
  const BridgeReply r = DecodeBridgeReply(body);
  const ReplyVerdict verdict = JudgeBridgeReply(r, {.bridge_uuid = o->bridge_uuid,
                                                    .kind = kind,
                                                    .signed_unix_us = o->signed_unix_us,
                                                    .query_sent_unix_us = o->query_sent_unix_us,
                                                    .signature_ttl_ms = cfg.bridge_signature_ttl_ms,
                                                    .exec_margin_ms = cfg.bridge_exec_margin_ms});
  if (IsAnomaly(verdict)) counters.bridge_anomalies.fetch_add(1, std::memory_order_relaxed);
  std::string own;
  switch (verdict) {
    case ReplyVerdict::kFilled:
      SetOutcome(o, RecordEvent::kOutcomeFilled, body);
      return;
    case ReplyVerdict::kRejected:
      SetOutcome(o, RecordEvent::kOutcomeRejected, body);
      return;
    case ReplyVerdict::kFilledNoTicket:
      EncodeErrorReply(o->uuid, ErrorCode::kBridgeNoTicket, true,
                       "the bridge answered FILLED without a ticket: MT5 placed nothing", UnixUs(),
                       &own);
      SetOutcome(o, RecordEvent::kOutcomeRejected, own);
      return;
    case ReplyVerdict::kNotExecuted:
      EncodeStatusReply(o->uuid, "REJECTED", "BRIDGE_NOT_EXECUTED",
                        "the bridge has no record of this order and its signature has "
                        "expired: it was never executed",
                        UnixUs(), &own);
      SetOutcome(o, RecordEvent::kOutcomeRejected, own);
      return;
    case ReplyVerdict::kQueriesUnsupported:
      if (queries_enabled_) {
        spdlog::warn(
            "the bridge does not implement ORDER_STATUS: UNKNOWN orders wait for a late reply or "
            "an operator");
      }
      queries_enabled_ = false;
      return;
    case ReplyVerdict::kNothing:
      return;
    case ReplyVerdict::kUnparseable:
      spdlog::info("order {}: unparseable bridge reply ignored; outcome stays unknown",
                   OrderLabel(o->key));
      return;
    case ReplyVerdict::kWrongUuid:
      spdlog::info("order {}: bridge reply carries uuid {}; ignored", OrderLabel(o->key),
                   SV(r.uuid.view()));
      return;
    case ReplyVerdict::kUnsettlingError:
      spdlog::info("order {}: bridge error {} leaves the outcome unknown", OrderLabel(o->key),
                   SV(r.error_code.view()));
      return;
    case ReplyVerdict::kSettlesNothing:
      spdlog::info("order {}: bridge reply settles nothing; the outcome stays unknown: {}",
                   OrderLabel(o->key), SV(body.substr(0, 200)));
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
      ReplyPlainError(
          relay.route, relay.client.is_string ? absl::string_view(relay.client.text) : "",
          ErrorCode::kBridgeTimeout, "no reply from the bridge before the reply deadline");
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
    if (o->phase == Phase::kSent) {
      latency.bridge.Record(events_ns_ - o->sent_ns);
    }
    ForgetToken(&o->order_token);
  }
  HandleOrderReply(o, ev.body, kind);
}

void Gateway::Loop::MarkTimedOut(Order* o) {
  if (o->phase != Phase::kSent) return;
  Move(o, LifecycleEvent::kOutcomeLearned);
  o->outcome_event = RecordEvent::kBridgeTimedOut;
  o->outcome_reply = UnknownReply(o->uuid, UnixUs());
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
  // Oldest first (by id), not in the hash table's order: when the bridge has room for only some
  // questions the longest-waiting are asked, and the order of questions is the same on every run
  // of the same events (the deterministic simulation replays a seed exactly).
  sorted_orders_.clear();
  for (auto& [key, owned] : orders_) {
    Order* o = owned.get();
    if (o->phase != Phase::kUnknown || o->next_query_ns > now_ns) continue;
    if (o->query_token != 0) continue;  // the last question is still out
    sorted_orders_.push_back(o);
  }
  std::sort(sorted_orders_.begin(), sorted_orders_.end(),
            [](const Order* a, const Order* b) { return a->id < b->id; });
  for (Order* o : sorted_orders_) {
    if (!BridgeHasRoom(AdmissionNow(), /*relay=*/false)) return;  // asked in a later scan
    scratch_.clear();
    EncodeBridgeOrderStatus(o->bridge_uuid, &scratch_);
    const uint64_t token = next_token_++;
    const bool idle = link->outstanding() == 0;
    if (!link->Send(token, o->bridge_uuid, scratch_, now_ns + kQueryTimeoutMs * kNsPerMs).ok()) {
      return;
    }
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

}  // namespace ordergate::gateway
