// Gateway::Loop, the shared guard's side (guard = "postgres", gateway/shared_guard.h): retries of
// another live gateway's order, and the adoption of dead gateways' UNKNOWN orders.
#include "gateway/gateway_loop.h"

namespace ordergate::gateway {

void Gateway::Loop::JoinForeign(const Waiter& w, absl::string_view key, absl::string_view uuid) {
  guard_counters.foreign_joins.fetch_add(1, std::memory_order_relaxed);
  ForeignWaiter f;
  f.waiter = w;
  f.waiter.original = false;  // it joined an order: its replies say duplicate:true
  f.key.assign(key.data(), key.size());
  f.uuid.assign(uuid.data(), uuid.size());
  if (foreign_waiters_.empty()) next_foreign_poll_ns_ = SteadyNs() + kForeignPollMs * kNsPerMs;
  foreign_waiters_.push_back(std::move(f));
}

void Gateway::Loop::PollForeignWaiters(int64_t now_ns) {
  if (foreign_waiters_.empty()) return;
  // Between two reads only the deadlines are checked (the loop turns at least every kMaxPollMs).
  const bool read_due = now_ns >= next_foreign_poll_ns_;
  if (read_due) next_foreign_poll_ns_ = now_ns + kForeignPollMs * kNsPerMs;
  // One point read per waiting key (several retries of one uuid share it): off the critical
  // section of new requests, which this turn has already drained.
  std::string last_key;
  std::optional<Record> last_rec;
  bool last_ok = false;
  bool unreachable = false;
  // Waiters of one key are adjacent after this sort, so each key is read once per poll.
  if (read_due) {
    std::stable_sort(foreign_waiters_.begin(), foreign_waiters_.end(),
                     [](const ForeignWaiter& a, const ForeignWaiter& b) { return a.key < b.key; });
  }
  auto keep = foreign_waiters_.begin();
  for (auto f = foreign_waiters_.begin(); f != foreign_waiters_.end(); ++f) {
    if (f == foreign_waiters_.begin() || f->key != last_key) {
      last_key = f->key;
      if (!read_due || unreachable) {
        last_ok = false;  // one failed read per poll: each would hold the loop for its timeout
      } else {
        auto rec = ReadRecord(f->key);
        last_ok = rec.ok();
        last_rec = last_ok ? *std::move(rec) : std::nullopt;
        unreachable = !last_ok;
      }
    }
    const bool settled =
        last_ok && (!last_rec.has_value() || last_rec->state != RecordState::kReserved);
    if (settled && last_rec.has_value()) {
      // FILLED / REJECTED replayed, UNKNOWN with its stored reply: the other gateway's outcome.
      AnswerFromRecord(f->waiter, f->uuid, {}, *last_rec, /*check_fingerprint=*/false);
      continue;
    }
    if (settled || f->waiter.deadline_ns <= now_ns) {
      // Released by its gateway (nothing was sent: the uuid may be sent again), or the client's
      // deadline: PENDING, and the client asks again.
      ReplyPending(f->waiter, f->uuid, true);
      counters.pending_replies.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (keep != f) *keep = std::move(*f);
    ++keep;
  }
  foreign_waiters_.erase(keep, foreign_waiters_.end());
  if (unreachable) next_foreign_poll_ns_ = now_ns + kStoreRetryMs * 5 * kNsPerMs;
}

void Gateway::Loop::AdoptUnknown(int64_t now_ns) {
  if (!guard->TakeAdoptable(&adoptable_)) return;
  const int64_t now_us = UnixUs();
  uint64_t adopted = 0;
  for (Record& rec : adoptable_) {
    if (orders_.contains(absl::string_view(rec.key))) continue;  // adopted before, or settling
    // Its gateway's lease expired before this listing, and that gateway sent nothing after its
    // lease's margin: any copy at the bridge was signed before now. A "not found" proves it never
    // executed only once the TTL and the execution margin have run from here.
    Order* o = NewUnknownOrder(rec, now_us, now_ns);
    if (o == nullptr) continue;
    o->adopted = true;
    ++adopted;
  }
  adoptable_.clear();
  if (adopted > 0) {
    guard_counters.adopted_unknown.fetch_add(adopted, std::memory_order_relaxed);
    spdlog::warn(
        "shared guard: adopted {} UNKNOWN order(s) of gateways whose lease expired; they are "
        "asked about with ORDER_STATUS, never resent",
        adopted);
  }
}

}  // namespace ordergate::gateway
