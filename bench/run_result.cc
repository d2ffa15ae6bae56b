// Tallies of one load run (see run_result.h).
#include "bench/run_result.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "transport/order.h"

namespace ordergate::bench {

Status ClassifyStatus(std::string_view s) {
  if (s == "FILLED") return Status::kFilled;
  if (s == "REJECTED") return Status::kRejected;
  if (s == "PENDING") return Status::kPending;
  if (s == "UNKNOWN") return Status::kUnknown;
  if (s == "error") return Status::kError;
  if (s == "ok") return Status::kOk;
  return Status::kOther;
}

std::string_view StringMember(std::string_view body, std::string_view key_with_quotes_colon) {
  const size_t at = body.find(key_with_quotes_colon);
  if (at == std::string_view::npos) return {};
  const size_t start = at + key_with_quotes_colon.size();
  const size_t end = body.find('"', start);
  if (end == std::string_view::npos) return {};
  return body.substr(start, end - start);
}

CodeTally::CodeTally() {
  for (int c = 1; c <= static_cast<int>(kLastErrorCode); ++c) {
    const absl::string_view n = ErrorCodeName(static_cast<ErrorCode>(c));
    names_.emplace_back(n.data(), n.size());
  }
  for (const char* extra : {"MT5_ORDER_FAILED", "MT5_CLOSE_FAILED", "MT5_EXCEPTION",
                            "MT5_NOT_CONNECTED", "SERVER_ERROR", "BRIDGE_NOT_EXECUTED"}) {
    names_.emplace_back(extra);
  }
  counts_.assign(names_.size(), 0);
}

void CodeTally::Add(std::string_view code, uint64_t n) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == code) {
      counts_[i] += n;
      return;
    }
  }
  names_.emplace_back(code);  // a code nobody expected: rare, so the list stays short
  counts_.push_back(n);
}

void CodeTally::Merge(const CodeTally& o) {
  for (size_t i = 0; i < o.names_.size(); ++i) {
    if (o.counts_[i] > 0) Add(o.names_[i], o.counts_[i]);
  }
}

std::vector<std::pair<std::string, uint64_t>> CodeTally::NonZero() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (counts_[i] > 0) out.emplace_back(names_[i], counts_[i]);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return out;
}

uint64_t CodeTally::Get(std::string_view code) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == code) return counts_[i];
  }
  return 0;
}

uint64_t CodeTally::Total() const {
  uint64_t n = 0;
  for (uint64_t c : counts_) n += c;
  return n;
}

void OrderFates::Merge(const OrderFates& o) {
  orders += o.orders;
  filled += o.filled;
  unknown += o.unknown;
  refused.Merge(o.refused);
  rejected += o.rejected;
  errored += o.errored;
}

void Merge(const RunResult& r, RunResult* into) {
  into->issued += r.issued;
  into->measured += r.measured;
  into->finished += r.finished;
  into->sent += r.sent;
  into->sent_retries += r.sent_retries;
  into->sent_conflicts += r.sent_conflicts;
  into->sent_followups += r.sent_followups;
  into->replies += r.replies;
  into->duplicate_replies += r.duplicate_replies;
  into->stray_replies += r.stray_replies;
  into->send_failures += r.send_failures;
  for (size_t i = 0; i < r.by_status.size(); ++i) into->by_status[i] += r.by_status[i];
  into->reply_codes.Merge(r.reply_codes);
  into->fates.Merge(r.fates);
  into->fates_all.Merge(r.fates_all);
  into->unanswered_submissions += r.unanswered_submissions;
  into->send_lag.Merge(r.send_lag);
  into->filled_ns.insert(into->filled_ns.end(), r.filled_ns.begin(), r.filled_ns.end());
  into->not_filled_ns.insert(into->not_filled_ns.end(), r.not_filled_ns.begin(),
                             r.not_filled_ns.end());
  into->window_ns += r.window_ns;
  if (r.executed_uuids >= 0) {
    into->executed_uuids = std::max<int64_t>(into->executed_uuids, 0) + r.executed_uuids;
    into->duplicate_executions =
        std::max<int64_t>(into->duplicate_executions, 0) + r.duplicate_executions;
  }
  for (const ProcessCpuUse& u : r.cpu) {
    auto same = std::find_if(into->cpu.begin(), into->cpu.end(),
                             [&](const ProcessCpuUse& o) { return o.role == u.role; });
    if (same == into->cpu.end()) {
      into->cpu.push_back(u);
    } else {
      same->cpu_ns = same->cpu_ns >= 0 && u.cpu_ns >= 0 ? same->cpu_ns + u.cpu_ns : int64_t{-1};
    }
  }
  into->cpu_window_ns += r.cpu_window_ns;
  into->cpu_window_orders += r.cpu_window_orders;
  if (!r.error.empty()) into->error += r.error + "; ";
}

}  // namespace ordergate::bench
