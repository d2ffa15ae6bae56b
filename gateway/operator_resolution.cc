#include "gateway/operator_resolution.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/codec.h"
#include "transport/order.h"

namespace ordergate::gateway {

absl::Status CheckResolution(const Resolution& r) {
  if (!IsValidClientOrderId(r.uuid)) {
    return absl::InvalidArgumentError(
        "uuid must be 1..64 characters of [A-Za-z0-9._:-], as the order was sent");
  }
  if (r.operator_name.size() > kMaxOperatorNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("operator must be at most ", kMaxOperatorNameBytes, " bytes"));
  }
  // A CURVE name as the front end admits it: printable, no NUL (it would split the store key).
  if (r.client.size() > kMaxClientNameBytes || r.client.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("client must be the order's CURVE client name, 0..", kMaxClientNameBytes,
                     " bytes without NUL (empty without CURVE)"));
  }
  switch (r.outcome) {
    case ResolvedOutcome::kFilled:
      if (r.ticket <= 0) {
        return absl::InvalidArgumentError(
            "ticket must be the positive MT5 ticket of the execution (a FILLED without a ticket "
            "means MT5 placed nothing: resolve it as rejected instead)");
      }
      if (r.price && !(std::isfinite(*r.price) && *r.price > 0)) {
        return absl::InvalidArgumentError("price, when given, must be a finite number above 0");
      }
      if (!r.reason.empty()) {
        return absl::InvalidArgumentError("reason belongs to a rejection, not to a fill");
      }
      return absl::OkStatus();
    case ResolvedOutcome::kRejected:
      if (r.reason.empty() || r.reason.size() > kMaxReasonBytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "reason must say why the order was not executed, 1..", kMaxReasonBytes, " bytes"));
      }
      if (r.ticket != 0 || r.price) {
        return absl::InvalidArgumentError("ticket and price belong to a fill, not to a rejection");
      }
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("outcome must be FILLED or REJECTED");
}

void EncodeResolutionReply(const Resolution& r, int64_t now_unix_us, std::string* out) {
  out->append("{\"uuid\":");
  AppendJsonString(r.uuid, out);
  if (r.outcome == ResolvedOutcome::kFilled) {
    absl::StrAppend(out, ",\"status\":\"FILLED\",\"ticket\":", r.ticket);
    if (r.price) {
      out->append(",\"price\":");
      AppendJsonNumber(*r.price, out);
    }
  } else {
    out->append(",\"status\":\"REJECTED\",\"error_code\":\"OPERATOR_REJECTED\",\"error_msg\":");
    AppendJsonString(r.reason, out);
  }
  out->append(",\"resolved_by\":\"operator\"");
  if (!r.operator_name.empty()) {
    out->append(",\"operator\":");
    AppendJsonString(r.operator_name, out);
  }
  out->append(",\"timestamp\":\"");
  AppendIsoTimestamp(now_unix_us, /*basic=*/false, out);
  out->append("\"}");
}

absl::StatusOr<ResolutionResult> ResolutionQueue::Submit(const Resolution& r, absl::Duration wait) {
  auto p = std::make_shared<PendingResolution>();
  p->request = r;
  std::unique_lock<std::mutex> l(mu_);
  if (closed_) return closed_why_;
  queued_.push_back(p);
  queued_count_.fetch_add(1, std::memory_order_relaxed);
  const auto stage_is = [&p](PendingResolution::Stage s) { return p->stage == s; };
  if (!cv_.wait_for(l, absl::ToChronoNanoseconds(wait),
                    [&] { return !stage_is(PendingResolution::Stage::kQueued); })) {
    // Still queued: the loop never saw it, and now never will.
    p->stage = PendingResolution::Stage::kAbandoned;
    return absl::UnavailableError(absl::StrCat("the order loop did not take the resolution within ",
                                               absl::FormatDuration(wait), "; nothing changed"));
  }
  if (!cv_.wait_for(l, absl::ToChronoNanoseconds(wait),
                    [&] { return stage_is(PendingResolution::Stage::kDone); })) {
    return absl::DeadlineExceededError(
        absl::StrCat("the order loop took the resolution but has not finished writing it after ",
                     absl::FormatDuration(wait),
                     "; it may yet be recorded: look the order up before trying "
                     "again"));
  }
  return std::move(p->result);
}

void ResolutionQueue::Take(std::vector<std::shared_ptr<PendingResolution>>* out) {
  std::lock_guard<std::mutex> l(mu_);
  for (std::shared_ptr<PendingResolution>& p : queued_) {
    // An abandoned request stays in the queue until here: its asker already said "not applied".
    if (p->stage != PendingResolution::Stage::kQueued) continue;
    p->stage = PendingResolution::Stage::kTaken;
    out->push_back(std::move(p));
  }
  queued_.clear();
  queued_count_.store(0, std::memory_order_relaxed);
  cv_.notify_all();
}

void ResolutionQueue::Complete(const std::shared_ptr<PendingResolution>& p,
                               absl::StatusOr<ResolutionResult> result) {
  std::lock_guard<std::mutex> l(mu_);
  p->result = std::move(result);
  p->stage = PendingResolution::Stage::kDone;
  cv_.notify_all();
}

void ResolutionQueue::Close(const absl::Status& why) {
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  closed_why_ = why;
  for (std::shared_ptr<PendingResolution>& p : queued_) {
    if (p->stage != PendingResolution::Stage::kQueued) continue;
    p->result = why;
    p->stage = PendingResolution::Stage::kDone;
  }
  queued_.clear();
  queued_count_.store(0, std::memory_order_relaxed);
  cv_.notify_all();
}

}  // namespace ordergate::gateway
