// Domain types of the wire contract (docs/protocol.md): actions, order types, IDs, error codes, and
// the decoded request. Plain values with fixed inline storage, so decoding an order allocates
// nothing.
//
//   ordergate::Request req;
//   ordergate::ErrorCode ec = ordergate::DecodeRequest(body, limits, &req);   // codec.h
//   if (ec == ErrorCode::kOk && req.action == Action::kOpen) { ... req.uuid.view() ... }
#ifndef ORDERGATE_TRANSPORT_ORDER_H_
#define ORDERGATE_TRANSPORT_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/string_view.h"

namespace ordergate {

enum class Action : uint8_t { kPing, kOpen, kClose, kGetAccount, kGetPositions, kOrderStatus };

enum class OrderType : uint8_t { kBuy, kSell, kBuyLimit, kSellLimit, kBuyStop, kSellStop };

// "PING", "OPEN", ... as the bridge spells them (upper case).
absl::string_view ActionName(Action a);
// "BUY", "SELL", "BUY_LIMIT", ...
absl::string_view OrderTypeName(OrderType t);

// A bounded string held inline (no allocation). `N` is the maximum length.
template <size_t N>
class InlineString {
 public:
  static constexpr size_t kMaxSize = N;
  InlineString() = default;
  // Returns false (and leaves *this empty) when `s` is longer than N.
  bool Assign(absl::string_view s) {
    if (s.size() > N) {
      size_ = 0;
      return false;
    }
    std::memcpy(data_, s.data(), s.size());
    size_ = static_cast<uint8_t>(s.size());
    return true;
  }
  absl::string_view view() const { return absl::string_view(data_, size_); }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  friend bool operator==(const InlineString& a, const InlineString& b) {
    return a.view() == b.view();
  }

 private:
  char data_[N] = {};
  uint8_t size_ = 0;
  static_assert(N < 256);
};

// The strategy's idempotency key: 1-64 characters of [A-Za-z0-9._:-].
struct ClientOrderId {
  InlineString<64> value;
  absl::string_view view() const { return value.view(); }
};
// True when `s` is a valid ClientOrderId text.
bool IsValidClientOrderId(absl::string_view s);

// An MT5 position/deal ticket. 0 means "none" (the bridge's FILLED-with-ticket-0 quirk).
struct Ticket {
  int64_t value = 0;
};

// Every error code of the contract, ordergate's own and the bridge's that ordergate emits itself.
enum class ErrorCode : uint8_t {
  kOk = 0,
  kInvalidJson,
  kOversize,
  kMissingAction,
  kUnknownAction,
  kMissingUuid,
  kInvalidUuid,
  kMissingSymbol,
  kMissingType,
  kInvalidType,
  kInvalidVolume,
  kInvalidPrice,
  kMissingTicket,
  kInvalidField,
  kIdempotencyConflict,
  kRiskLimit,
  kGatewayBusy,
  kBridgeDown,
  kStoreUnavailable,
  kBridgeTimeout,
  kNotFound,
  kRiskSignatureInvalid,
  kBridgeNoTicket,
  // The MT5-CRS JSON v1 envelope's own (protocol.md section 2a): its retcode -2 tells a missing
  // field apart from one out of range (-3), which the bridge protocol's codes do not.
  kMissingPayload,
  kMissingVolume,
};
inline constexpr ErrorCode kLastErrorCode = ErrorCode::kMissingVolume;

// "INVALID_JSON", ... exactly as the contract spells them.
absl::string_view ErrorCodeName(ErrorCode c);

// Whether the reply status for `c` is "error" (envelope problems, ordergate cannot serve) or
// "REJECTED" (order-field problems and pre-send refusals), per section 2 of the contract. Depends
// on the action only through `is_order` (OPEN/CLOSE): field errors on other actions are "error".
// kBridgeTimeout and kNotFound are always "error" (relay deadline, ORDER_STATUS miss): the UNKNOWN
// and PENDING statuses of an order are the gateway's to produce, never this function's. kOk: "ok".
absl::string_view ErrorStatus(ErrorCode c, bool is_order);

// One decoded front-end request. Fields not present keep their defaults; `has_*` tell presence.
// How a request was written: the bridge protocol (section 1, as the front end speaks it) or the
// MT5-CRS JSON v1 envelope (section 2a: ORDER_SEND, req_id, payload), whose replies are
// {error, ticket, msg, retcode}. The decoder sets it as soon as it sees the action, so even an
// error reply takes the envelope's shape.
enum class Envelope : uint8_t { kBridge, kMt5CrsV1 };

struct Request {
  Action action = Action::kPing;
  Envelope envelope = Envelope::kBridge;
  ClientOrderId uuid;  // empty when absent
  InlineString<64> symbol;
  OrderType type = OrderType::kBuy;
  double volume = 0;
  double price = 0;
  double sl = 0;
  double tp = 0;
  InlineString<31> comment;
  int64_t magic = 0;
  bool has_magic = false;
  Ticket ticket;                     // CLOSE
  int64_t timeout_ms = 0;            // 0: not given (use client_timeout_ms)
  InlineString<128> risk_signature;  // the strategy's own, if any (checked, never forwarded)
  InlineString<64> status_symbol;    // GET_POSITIONS optional filter (relayed raw anyway)
};

inline bool IsOrderAction(Action a) { return a == Action::kOpen || a == Action::kClose; }

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_ORDER_H_
