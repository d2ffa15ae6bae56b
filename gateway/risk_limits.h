// Pre-trade limits per client (docs/SECURITY.md, "Pre-trade limits"): what one client may send,
// and the RiskGate that decides each order against them. Plain code driven by a clock passed in
// (now_ns, the pipeline's steady clock): no I/O, no thread, no reading of time.
//
//   LimitsTable table;                                  // from gateway/limits_file.h, or by hand
//   table.default_limits.max_volume = 5;
//   RiskGate gate(std::move(table));
//   RiskDecision d = gate.Check(identity, RiskOrder{.symbol = "EURUSD", .volume = 1}, now_ns);
//   if (!d.ok()) { /* REJECTED, RISK_LIMIT, d.message; nothing recorded, nothing sent */ }
//   gate.OnReserved(identity);  ...  gate.OnSettled(identity);   // in-flight accounting
//
// What each limit means:
// - symbols: the symbols an OPEN may name (exact, case-sensitive, as the bridge compares them);
//   absent: any.
// - max_volume: the most one OPEN may carry, inclusive: volume == max_volume passes,
//   std::nextafter(max_volume, inf) does not.
// - max_orders_per_second: a token bucket of burst max(1, floor(rate)) orders, refilled
//   continuously (one order every ceil(1e9 / rate) ns), kept as its theoretical arrival time
//   (GCRA), so that the edges are exact integers of ns.
// - max_in_flight: orders of this client reserved and not yet settled (OnReserved / OnSettled).
// - max_notional_per_minute: the sum of volume x price of the client's accepted OPENs within the
//   last 60 s, this one included, inclusive. Only orders that carry a price > 0 count (a market
//   order without a price has no notional the gateway could know). Contract size: the gateway
//   does not know an instrument's contract size or its currency, so "notional" here is volume x
//   price in the order's own units (lots x quote), summed across symbols as they are; an
//   operator who mixes instruments sets the limit in those units. The window is kept in 100 ms
//   slices, conservatively: an order's notional leaves it between 60 s and 60.1 s after it was
//   accepted, never before.
// Which orders count: an OPEN meets every limit. A CLOSE has no symbol and no volume in the
// contract (it names a ticket), so only max_orders_per_second and max_in_flight apply to it.
//
// A limit not given is no limit. [limits.NAME] overrides [limits.default] key by key: a key it does
// not name keeps the default's value (so a forgotten key never lifts a limit). The empty identity
// (a front end without CURVE, an in-process gateway) and every identity without a section get
// [limits.default].
//
// Memory: one RiskGate::ClientState per identity that has sent an order (a few hundred bytes plus
// at most 601 window slices), never freed while the gateway runs. Identities are bounded by the
// CURVE allowlist (curve_clients_dir): a client cannot name itself, so state cannot grow beyond
// the allowlist (one entry, "", without CURVE).
//
// Thread-safety: a RiskGate belongs to one thread (the pipeline's loop); it is not synchronised.
// LimitsTable is a plain value. Nothing here blocks; Check allocates only to write a refusal's
// message and for an identity's first order.
#ifndef ORDERGATE_GATEWAY_RISK_LIMITS_H_
#define ORDERGATE_GATEWAY_RISK_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace ordergate::gateway {

// One client's limits; nullopt: that limit does not apply.
struct ClientLimits {
  std::optional<std::vector<std::string>> symbols = std::nullopt;
  std::optional<double> max_volume = std::nullopt;
  std::optional<double> max_orders_per_second = std::nullopt;
  std::optional<int64_t> max_in_flight = std::nullopt;
  std::optional<double> max_notional_per_minute = std::nullopt;

  // This client's limits, with every key this one does not name taken from `base`.
  ClientLimits Over(const ClientLimits& base) const;
  bool operator==(const ClientLimits&) const = default;
};

// The limits of every client: [limits.default] and [limits.NAME] of the config file.
struct LimitsTable {
  ClientLimits default_limits;
  // As written in the file (not yet merged over the default): For() merges.
  absl::flat_hash_map<std::string, ClientLimits> by_identity;

  // The limits that apply to `identity`: its section over the default, or the default.
  ClientLimits For(absl::string_view identity) const;
  bool operator==(const LimitsTable&) const = default;
};

// Which limit refused an order (also the index of the metrics' per-limit refusal counters).
enum class RiskLimit : uint8_t {
  kNone = 0,
  kSymbols,
  kMaxVolume,
  kMaxOrdersPerSecond,
  kMaxInFlight,
  kMaxNotionalPerMinute,
};
inline constexpr size_t kRiskLimitCount = 6;  // kNone included

// "symbols", "max_volume", ... (the config key); "none" for kNone.
absl::string_view RiskLimitName(RiskLimit limit);

// What Check is told of an order.
struct RiskOrder {
  bool is_close = false;          // a CLOSE: only the rate and in-flight limits apply
  absl::string_view symbol = {};  // OPEN only
  double volume = 0;              // OPEN only; already validated (> 0, finite)
  double price = 0;               // 0: no price (market order); no notional counted
};

struct RiskDecision {
  RiskLimit limit = RiskLimit::kNone;
  // Names the limit and the values, e.g. "max_volume 5 exceeded: volume 5.01"; empty when ok().
  std::string message;
  bool ok() const { return limit == RiskLimit::kNone; }
};

class RiskGate {
 public:
  explicit RiskGate(LimitsTable table = {});

  // Decides one order of `identity` at `now_ns` (steady clock, never going back). OK: the order
  // is accepted against every limit, and it is counted — a token of the rate is taken and its
  // notional enters the minute window (the caller reserves it next and calls OnReserved).
  // A refusal counts nothing: the same order may be sent again once the limit allows it.
  RiskDecision Check(absl::string_view identity, const RiskOrder& order, int64_t now_ns);

  // In-flight accounting: an order of `identity` was reserved (OnReserved) / reached its final
  // outcome or was forgotten without one (OnSettled). OnSettled without a matching OnReserved is
  // ignored (the count never goes below 0).
  void OnReserved(absl::string_view identity);
  void OnSettled(absl::string_view identity);

  // New limits (a reload): every client's state — its rate bucket, in-flight count and minute
  // window — is kept and judged by the new limits from the next Check on. Orders already
  // accepted stay accepted even where the new limits are lower.
  void Replace(LimitsTable table);

  const LimitsTable& table() const { return table_; }
  // The orders of `identity` reserved and not yet settled (for tests and the admin view).
  int64_t InFlight(absl::string_view identity) const;
  // How many identities have state (bounded by the allowlist; see the header comment).
  size_t identities() const { return clients_.size(); }

 private:
  struct Slice {
    int64_t last_ns;  // the latest order in the slice: the slice leaves the window 60 s after it
    double notional;
  };
  struct ClientState {
    ClientLimits limits;         // the merged limits of this identity (refreshed by Replace)
    int64_t rate_tat_ns = 0;     // GCRA's theoretical arrival time of the next order
    int64_t in_flight = 0;       // reserved, not settled
    std::deque<Slice> window;    // notional of the last minute, oldest first
    double window_notional = 0;  // the sum of `window`
  };

  ClientState& StateOf(absl::string_view identity);
  static void Expire(ClientState* s, int64_t now_ns);

  LimitsTable table_;
  absl::flat_hash_map<std::string, ClientState> clients_;
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_RISK_LIMITS_H_
