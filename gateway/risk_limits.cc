#include "gateway/risk_limits.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ordergate::gateway {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kWindowNs = 60 * kNsPerSecond;
// Orders within one slice share it; bounds a window to 601 slices whatever the order rate.
constexpr int64_t kSliceNs = 100'000'000;

// The shortest text that reads back as the same double: 5.000000000000001 must not print as 5.
std::string Num(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// ceil(1e9 / rate) ns, at least 1: rounding up keeps the rate at or below what was configured.
int64_t IntervalNs(double rate) {
  const double ns = std::ceil(static_cast<double>(kNsPerSecond) / rate);
  return std::max<int64_t>(1, static_cast<int64_t>(ns));
}

int64_t Burst(double rate) { return std::max<int64_t>(1, static_cast<int64_t>(std::floor(rate))); }

}  // namespace

ClientLimits ClientLimits::Over(const ClientLimits& base) const {
  ClientLimits out = base;
  if (symbols) out.symbols = symbols;
  if (max_volume) out.max_volume = max_volume;
  if (max_orders_per_second) out.max_orders_per_second = max_orders_per_second;
  if (max_in_flight) out.max_in_flight = max_in_flight;
  if (max_notional_per_minute) out.max_notional_per_minute = max_notional_per_minute;
  return out;
}

ClientLimits LimitsTable::For(absl::string_view identity) const {
  auto it = by_identity.find(identity);
  if (it == by_identity.end()) return default_limits;
  return it->second.Over(default_limits);
}

absl::string_view RiskLimitName(RiskLimit limit) {
  switch (limit) {
    case RiskLimit::kNone:
      return "none";
    case RiskLimit::kSymbols:
      return "symbols";
    case RiskLimit::kMaxVolume:
      return "max_volume";
    case RiskLimit::kMaxOrdersPerSecond:
      return "max_orders_per_second";
    case RiskLimit::kMaxInFlight:
      return "max_in_flight";
    case RiskLimit::kMaxNotionalPerMinute:
      return "max_notional_per_minute";
  }
  return "none";
}

RiskGate::RiskGate(LimitsTable table) : table_(std::move(table)) {}

RiskGate::ClientState& RiskGate::StateOf(absl::string_view identity) {
  auto it = clients_.find(identity);
  if (it != clients_.end()) return it->second;
  ClientState& s = clients_[identity];
  s.limits = table_.For(identity);
  return s;
}

void RiskGate::Expire(ClientState* s, int64_t now_ns) {
  bool expired = false;
  // An order accepted at t counts in (now - 60 s, now]: at t + 60 s it has left.
  while (!s->window.empty() && s->window.front().last_ns <= now_ns - kWindowNs) {
    s->window.pop_front();
    expired = true;
  }
  if (!expired) return;
  // Summed again rather than subtracted, so that rounding never accumulates across a day.
  double sum = 0;
  for (const Slice& slice : s->window) sum += slice.notional;
  s->window_notional = sum;
}

RiskDecision RiskGate::Check(absl::string_view identity, const RiskOrder& order, int64_t now_ns) {
  ClientState& s = StateOf(identity);
  const ClientLimits& l = s.limits;
  auto refuse = [](RiskLimit limit, auto&&... parts) {
    return RiskDecision{limit, absl::StrCat(parts...)};
  };

  if (!order.is_close) {
    if (l.symbols &&
        std::find(l.symbols->begin(), l.symbols->end(), order.symbol) == l.symbols->end()) {
      return refuse(RiskLimit::kSymbols, "symbols: ", order.symbol,
                    " is not among this client's allowed symbols");
    }
    if (l.max_volume && !(order.volume <= *l.max_volume)) {
      return refuse(RiskLimit::kMaxVolume, "max_volume ", Num(*l.max_volume), " exceeded: volume ",
                    Num(order.volume));
    }
  }
  double notional = 0;
  if (!order.is_close && order.price > 0) notional = order.volume * order.price;
  if (l.max_notional_per_minute && notional > 0) {
    Expire(&s, now_ns);
    const double total = s.window_notional + notional;
    if (!(total <= *l.max_notional_per_minute)) {
      return refuse(RiskLimit::kMaxNotionalPerMinute, "max_notional_per_minute ",
                    Num(*l.max_notional_per_minute), " exceeded: ", Num(s.window_notional),
                    " in the last 60 s + ", Num(notional), " (volume ", Num(order.volume),
                    " x price ", Num(order.price), ")");
    }
  }
  if (l.max_in_flight && s.in_flight >= *l.max_in_flight) {
    return refuse(RiskLimit::kMaxInFlight, "max_in_flight ", *l.max_in_flight,
                  " reached: ", s.in_flight, " orders in flight");
  }
  int64_t next_tat_ns = s.rate_tat_ns;
  if (l.max_orders_per_second) {
    const int64_t interval_ns = IntervalNs(*l.max_orders_per_second);
    const int64_t tolerance_ns = (Burst(*l.max_orders_per_second) - 1) * interval_ns;
    const int64_t tat_ns = std::max(s.rate_tat_ns, now_ns);
    if (tat_ns - now_ns > tolerance_ns) {
      return refuse(RiskLimit::kMaxOrdersPerSecond, "max_orders_per_second ",
                    Num(*l.max_orders_per_second), " exceeded: next order allowed in ",
                    (tat_ns - now_ns - tolerance_ns + 999) / 1000, " us");
    }
    next_tat_ns = tat_ns + interval_ns;
  }

  // Accepted: count it.
  s.rate_tat_ns = next_tat_ns;
  if (notional > 0) {
    // Without the limit the window is still kept, so that a reload that adds it judges the last
    // minute as it was.
    Expire(&s, now_ns);
    if (!s.window.empty() && now_ns - (s.window.back().last_ns / kSliceNs) * kSliceNs < kSliceNs) {
      s.window.back().last_ns = now_ns;
      s.window.back().notional += notional;
    } else {
      s.window.push_back(Slice{now_ns, notional});
    }
    s.window_notional += notional;
  }
  return RiskDecision{};
}

void RiskGate::OnReserved(absl::string_view identity) { ++StateOf(identity).in_flight; }

void RiskGate::OnSettled(absl::string_view identity) {
  auto it = clients_.find(identity);
  if (it == clients_.end() || it->second.in_flight == 0) return;
  --it->second.in_flight;
}

void RiskGate::Replace(LimitsTable table) {
  table_ = std::move(table);
  for (auto& [identity, state] : clients_) state.limits = table_.For(identity);
}

int64_t RiskGate::InFlight(absl::string_view identity) const {
  auto it = clients_.find(identity);
  return it == clients_.end() ? 0 : it->second.in_flight;
}

}  // namespace ordergate::gateway
