// Gateway::Loop, outcomes made durable: store batches through the journal (reservations and
// outcomes; one Apply per batch, written while the next is gathered) and operator resolutions of
// UNKNOWN orders.
#include "gateway/gateway_loop.h"

namespace ordergate::gateway {

// ---------------------------------------------------------------------------------------------
// The store batch

void Gateway::Loop::PumpJournal(int64_t now_ns) {
  Journal::Batch* written = journal->TakeWritten();
  PipelineBatch* done = nullptr;
  if (written != nullptr) done = written == &batches_[0].batch ? &batches_[0] : &batches_[1];
  // The next batch goes to the disk first: while it is written, this thread sends the orders and
  // answers the clients of the batch just written.
  StartBatch(now_ns);
  if (done != nullptr) FinishBatch(done, now_ns);
}

void Gateway::Loop::StartBatch(int64_t now_ns) {
  if (journal->busy()) return;
  if (!retry_outcomes_.empty() && now_ns >= store_retry_not_before_ns_) {
    for (Order* o : retry_outcomes_) {
      changes_.push_back(Change::Event(o->outcome_event, o->key, o->outcome_reply));
      items_.push_back({o, BatchPurpose::kOutcome});
    }
    retry_outcomes_.clear();
  }
  if (changes_.empty()) return;
  PipelineBatch& pb = batches_[next_batch_];
  next_batch_ ^= 1;
  // Swapped, not copied: both vectors keep their capacity for the batches after this one.
  pb.batch.changes.swap(changes_);
  pb.items.swap(items_);
  changes_.clear();
  items_.clear();
  pb.batch.now_unix_ms = UnixUs() / 1000;
  journal->Write(&pb.batch);
}

void Gateway::Loop::FlushJournal() {
  // Each round writes what the last one's answers gathered (an UNKNOWN at a bridge deadline, say);
  // a handful of rounds is all a stopping pipeline produces.
  for (int round = 0; round < 8; ++round) {
    if (journal->busy()) journal->WaitWritten();
    const int64_t now_ns = SteadyNs();
    PumpJournal(now_ns);
    if (!journal->busy() && changes_.empty()) return;
  }
}

void Gateway::Loop::FinishBatch(PipelineBatch* pb, int64_t now_ns) {
  const absl::Status applied = pb->batch.status;
  const int64_t apply_end_ns = pb->batch.apply_end_ns;
  latency.store_apply.Record(apply_end_ns - pb->batch.apply_start_ns);
  counters.store_batches.fetch_add(1, std::memory_order_relaxed);
  std::vector<BatchItem>& items = pb->items;
  std::vector<ChangeResult>& results = pb->batch.results;

  // The handlers below answer, send and erase orders; what they add goes to the next batch
  // (changes_), so this batch's items and results are read in place and cleared at the end
  // (their capacity is kept). Its changes hold views into orders about to be erased: clear first.
  pb->batch.changes.clear();

  if (!applied.ok()) {
    // Fail closed: nothing of the batch is durable, so nothing new is sent (batch_rules.h, rule 1).
    spdlog::error("store write failed ({}): {} change(s) not applied; failing closed",
                  absl::StatusCodeToString(applied.code()), items.size());
    store_retry_not_before_ns_ = now_ns + kStoreRetryMs * kNsPerMs;
  }

  for (size_t i = 0; i < items.size(); ++i) {
    Order* o = items[i].order;
    const ChangeResult& res = results[i];
    const BatchVerdict verdict = JudgeBatchItem({.purpose = items[i].purpose,
                                                 .batch_written = applied.ok(),
                                                 .outcome = res.outcome,
                                                 .has_record = res.existing.has_value(),
                                                 .outcome_event = o->outcome_event});
    if (items[i].purpose == BatchPurpose::kReserve && applied.ok()) {
      latency.reserve.Record(apply_end_ns - o->arrived_ns);
    }
    switch (verdict) {
      case BatchVerdict::kSend:
        window_counters.accepted.fetch_add(1, std::memory_order_relaxed);
        SendOrder(o, now_ns);
        continue;
      case BatchVerdict::kAnswerFromRecord:
        Move(o, LifecycleEvent::kNotReserved);
        audit_identity_ = SplitStoreKey(o->key).identity;
        for (const Waiter& w : o->waiters) {
          AnswerFromRecord(w, o->uuid, o->fingerprint, *res.existing, /*check_fingerprint=*/true);
        }
        o->waiters.clear();
        EraseOrder(o);
        continue;
      case BatchVerdict::kRefuseUnreserved:
        Move(o, LifecycleEvent::kNotReserved);
        for (const Waiter& w : o->waiters) {
          ReplyError(w, o->uuid, ErrorCode::kStoreUnavailable, true);
        }
        o->waiters.clear();
        EraseOrder(o);
        continue;
      case BatchVerdict::kWriteAgain:
        retry_outcomes_.push_back(o);  // learned, not yet durable: clients wait (PENDING)
        continue;
      case BatchVerdict::kReplayRecord:
        // An adopted order (shared guard) may be settled by another survivor first: expected.
        spdlog::log(o->adopted ? spdlog::level::info : spdlog::level::err,
                    "order {}: store refused transition to {} (state {}); replaying the record",
                    OrderLabel(o->key), static_cast<int>(o->outcome_event),
                    SV(idempotency::StateName(res.state_after)));
        Move(o, LifecycleEvent::kOutcomeRefused);
        if (res.existing) {
          for (const Waiter& w : o->waiters) {
            AnswerFromRecord(w, o->uuid, {}, *res.existing, /*check_fingerprint=*/false);
          }
        }
        o->waiters.clear();
        EraseOrder(o);
        continue;
      case BatchVerdict::kRecordedUnknown:
        RecordedUnknown(o, now_ns);
        continue;
      case BatchVerdict::kRecordedOutcome:
        RecordedOutcome(o);
        continue;
    }
  }
  items.clear();
  results.clear();
  RecountInFlight();
}

void Gateway::Loop::RecordedUnknown(Order* o, int64_t now_ns) {
  Move(o, LifecycleEvent::kTimedOutRecorded);
  o->unknown_reply = std::move(o->outcome_reply);
  o->next_query_ns = now_ns + cfg.unknown_query_interval_ms * kNsPerMs;
  counters.orders_unknown.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("order {} UNKNOWN: no bridge reply within {} ms", OrderLabel(o->key),
               cfg.bridge_timeout_ms);
  {
    AuditEvent unknown = OrderAudit(AuditEventKind::kUnknown, *o);
    unknown.error_code = "BRIDGE_TIMEOUT";
    Audit(unknown);
  }
  ReplyAll(o, o->unknown_reply);
}

void Gateway::Loop::RecordedOutcome(Order* o) {
  const bool filled = o->outcome_event == RecordEvent::kOutcomeFilled;
  (filled ? counters.orders_filled : counters.orders_rejected)
      .fetch_add(1, std::memory_order_relaxed);
  const bool was_unknown = o->phase == Phase::kUnknownSettling;
  {
    AuditEvent outcome =
        OrderAudit(filled ? AuditEventKind::kFilled : AuditEventKind::kRejected, *o);
    outcome.reply = o->outcome_reply;  // its ticket / error_code, read by the log's writer
    if (was_unknown) outcome.message = "was UNKNOWN";
    Audit(outcome);
  }
  Move(o, LifecycleEvent::kOutcomeRecorded);
  if (was_unknown) {
    counters.unknown_resolved.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("order {} resolved UNKNOWN -> {}", OrderLabel(o->key),
                 filled ? "FILLED" : "REJECTED");
    if (sink != nullptr) sink->Resolved(o->uuid, o->outcome_reply);
  } else {
    // Per order: debug only, a synchronous log line per fill would cost more than the order.
    spdlog::debug("order {} {}", OrderLabel(o->key), filled ? "FILLED" : "REJECTED");
  }
  const bool timed_total = !was_unknown;  // not a resolved UNKNOWN
  const bool answered = !o->waiters.empty();
  ReplyAll(o, o->outcome_reply);
  // Ends at the last reply's clock read (the original's, unless retries joined it); recorded
  // even when every client gave up waiting, so slow orders are not left out of the tail.
  if (timed_total) latency.total.Record((answered ? last_reply_ns_ : SteadyNs()) - o->arrived_ns);
  EraseOrder(o);
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
  std::string key;
  AppendStoreKey(r.client, r.uuid, &key);
  auto it = orders_.find(absl::string_view(key));
  Order* o = it == orders_.end() ? nullptr : it->second.get();
  if (o != nullptr && IsSettling(o->phase)) {
    // An outcome learned from the bridge is being written (at the journal, or waiting to be
    // retried while the store fails): the first outcome learned wins.
    return absl::FailedPreconditionError(
        absl::StrCat("order ", r.uuid,
                     ": an outcome from the bridge is being written; nothing changed: look the "
                     "order up again"));
  }
  if (o != nullptr && o->phase != Phase::kUnknown) {
    return refuse("RESERVED (at the bridge, waiting for its reply)");
  }
  if (o == nullptr) {
    // Not in memory: an UNKNOWN of another gateway on a shared store, or no UNKNOWN at all.
    auto rec = ReadRecord(key);
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
  const Change change = Change::Event(event, key, done.reply);
  ChangeResult result;
  const absl::Status applied = store->Apply({&change, 1}, done.resolved_unix_ms, {&result, 1});
  counters.store_batches.fetch_add(1, std::memory_order_relaxed);
  if (!applied.ok()) {
    spdlog::error("order {}: operator resolution not recorded: store write failed ({})",
                  OrderLabel(key), absl::StatusCodeToString(applied.code()));
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
  spdlog::info("order {} resolved UNKNOWN -> {} by {} at {}", OrderLabel(key), what, who, at);
  {
    const std::string resolution = absl::StrCat(what, " by ", who);
    AuditEvent resolved{.kind = AuditEventKind::kResolved,
                        .identity = SplitStoreKey(key).identity,
                        .uuid = r.uuid,
                        .message = resolution,
                        .reply = done.reply};
    if (o != nullptr) resolved = OrderAudit(AuditEventKind::kResolved, *o);
    resolved.message = resolution;
    resolved.reply = done.reply;
    Audit(resolved);
  }
  if (sink != nullptr) sink->Resolved(r.uuid, done.reply);
  if (o != nullptr) {
    ReplyAll(o, done.reply);  // an UNKNOWN order has no waiters; kept for any that joined
    Move(o, LifecycleEvent::kResolvedByOperator);
    EraseOrder(o);  // no longer asked about; a late reply to it is dropped
  }
  return done;
}

}  // namespace ordergate::gateway
