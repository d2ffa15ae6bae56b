#include "transport/order.h"

namespace ordergate {

absl::string_view ActionName(Action a) {
  switch (a) {
    case Action::kPing:
      return "PING";
    case Action::kOpen:
      return "OPEN";
    case Action::kClose:
      return "CLOSE";
    case Action::kGetAccount:
      return "GET_ACCOUNT";
    case Action::kGetPositions:
      return "GET_POSITIONS";
    case Action::kOrderStatus:
      return "ORDER_STATUS";
  }
  return "UNKNOWN";
}

absl::string_view OrderTypeName(OrderType t) {
  switch (t) {
    case OrderType::kBuy:
      return "BUY";
    case OrderType::kSell:
      return "SELL";
    case OrderType::kBuyLimit:
      return "BUY_LIMIT";
    case OrderType::kSellLimit:
      return "SELL_LIMIT";
    case OrderType::kBuyStop:
      return "BUY_STOP";
    case OrderType::kSellStop:
      return "SELL_STOP";
  }
  return "UNKNOWN";
}

bool IsValidClientOrderId(absl::string_view s) {
  if (s.empty() || s.size() > decltype(ClientOrderId::value)::kMaxSize) return false;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::string_view ErrorCodeName(ErrorCode c) {
  switch (c) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidJson:
      return "INVALID_JSON";
    case ErrorCode::kOversize:
      return "OVERSIZE";
    case ErrorCode::kMissingAction:
      return "MISSING_ACTION";
    case ErrorCode::kUnknownAction:
      return "UNKNOWN_ACTION";
    case ErrorCode::kMissingUuid:
      return "MISSING_UUID";
    case ErrorCode::kInvalidUuid:
      return "INVALID_UUID";
    case ErrorCode::kMissingSymbol:
      return "MISSING_SYMBOL";
    case ErrorCode::kMissingType:
      return "MISSING_TYPE";
    case ErrorCode::kInvalidType:
      return "INVALID_TYPE";
    case ErrorCode::kInvalidVolume:
      return "INVALID_VOLUME";
    case ErrorCode::kInvalidPrice:
      return "INVALID_PRICE";
    case ErrorCode::kMissingTicket:
      return "MISSING_TICKET";
    case ErrorCode::kInvalidField:
      return "INVALID_FIELD";
    case ErrorCode::kIdempotencyConflict:
      return "IDEMPOTENCY_CONFLICT";
    case ErrorCode::kRiskLimit:
      return "RISK_LIMIT";
    case ErrorCode::kGatewayBusy:
      return "GATEWAY_BUSY";
    case ErrorCode::kBridgeDown:
      return "BRIDGE_DOWN";
    case ErrorCode::kStoreUnavailable:
      return "STORE_UNAVAILABLE";
    case ErrorCode::kBridgeTimeout:
      return "BRIDGE_TIMEOUT";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kRiskSignatureInvalid:
      return "RISK_SIGNATURE_INVALID";
    case ErrorCode::kBridgeNoTicket:
      return "BRIDGE_NO_TICKET";
    case ErrorCode::kMissingPayload:
      return "MISSING_PAYLOAD";
    case ErrorCode::kMissingVolume:
      return "MISSING_VOLUME";
  }
  return "SERVER_ERROR";
}

absl::string_view ErrorStatus(ErrorCode c, bool is_order) {
  switch (c) {
    case ErrorCode::kOk:
      return "ok";
    // Envelope problems and "ordergate cannot serve this": nothing recorded, nothing sent.
    case ErrorCode::kInvalidJson:
    case ErrorCode::kOversize:
    case ErrorCode::kMissingAction:
    case ErrorCode::kUnknownAction:
    case ErrorCode::kStoreUnavailable:
    case ErrorCode::kNotFound:
    case ErrorCode::kBridgeTimeout:
      return "error";
    // Order-field problems and pre-send refusals, as the bridge reports its own refusals.
    case ErrorCode::kMissingUuid:
    case ErrorCode::kInvalidUuid:
    case ErrorCode::kMissingSymbol:
    case ErrorCode::kMissingType:
    case ErrorCode::kInvalidType:
    case ErrorCode::kInvalidVolume:
    case ErrorCode::kInvalidPrice:
    case ErrorCode::kMissingTicket:
    case ErrorCode::kInvalidField:
    case ErrorCode::kIdempotencyConflict:
    case ErrorCode::kRiskLimit:
    case ErrorCode::kGatewayBusy:
    case ErrorCode::kBridgeDown:
    case ErrorCode::kRiskSignatureInvalid:
    case ErrorCode::kBridgeNoTicket:
    case ErrorCode::kMissingPayload:
    case ErrorCode::kMissingVolume:
      return is_order ? "REJECTED" : "error";
  }
  return "error";
}

}  // namespace ordergate
