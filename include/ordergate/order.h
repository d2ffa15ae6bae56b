// Order: what a strategy asks the embedded gateway (gateway.h) to execute, once.
//
//   ordergate::Order o;
//   o.uuid = "strat-7-000123";              // the idempotency key: the same uuid executes at most
//   once o.action = ordergate::OrderAction::kOpen; o.symbol = "EURUSD"; o.type =
//   ordergate::TradeType::kBuy; o.volume = 0.10;
//
// The fields are those of the bridge protocol's OPEN and CLOSE (docs/protocol.md, section 1) and
// are checked exactly as ordergated checks a request from a socket; a field out of range is an
// Outcome with status kRejected and the wire's error code (e.g. "INVALID_VOLUME"), nothing
// recorded, nothing sent. The uuid's fingerprint covers action, symbol, type, volume, price, sl,
// tp, ticket, magic and comment: the same uuid with any of them changed is a conflict
// ("IDEMPOTENCY_CONFLICT"), never a second order.
//
// A plain value: copy and keep it freely; Submit() copies what it needs before it returns.
#ifndef ORDERGATE_ORDER_H_
#define ORDERGATE_ORDER_H_

#include <cstdint>
#include <optional>
#include <string>

namespace ordergate {

enum class OrderAction : uint8_t {
  kOpen = 0,   // a new market or pending order (symbol, type, volume required)
  kClose = 1,  // closes the position `ticket`
};

// The bridge's order types: BUY, SELL, BUY_LIMIT, SELL_LIMIT, BUY_STOP, SELL_STOP.
enum class TradeType : uint8_t { kBuy, kSell, kBuyLimit, kSellLimit, kBuyStop, kSellStop };

struct Order {
  // REQUIRES: 1-64 characters of [A-Za-z0-9._:-]. Default: "" (refused: "MISSING_UUID").
  std::string uuid;
  // Default: kOpen.
  OrderAction action = OrderAction::kOpen;
  // kOpen: REQUIRES 1-64 characters. Ignored for kClose.
  std::string symbol;
  // kOpen only. Default: kBuy.
  TradeType type = TradeType::kBuy;
  // kOpen: REQUIRES > 0, finite, <= GatewayOptions::max_volume. Ignored for kClose.
  double volume = 0;
  // Limit/stop price, stop loss, take profit. Default: 0 (none). REQUIRES: finite, >= 0.
  double price = 0;
  double sl = 0;
  double tp = 0;
  // Dropped by the real bridge, kept in the fingerprint. REQUIRES: at most 31 characters.
  std::string comment;
  // The strategy's magic number. Default: none.
  std::optional<int64_t> magic;
  // kClose: the position's ticket. REQUIRES > 0 for kClose.
  int64_t ticket = 0;
};

}  // namespace ordergate

#endif  // ORDERGATE_ORDER_H_
