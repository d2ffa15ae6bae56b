// Admission: whether the pipeline takes one more request to the bridge now, as a plain function of
// what the pipeline knows at that moment — no socket, clock or store is read here, so every branch
// is tested from a table (tests/gateway/admission_test.cc) and a simulation can call it as is.
//
//   AdmissionState s{.stopping = false, .link_up = true, .in_flight = 12, ...};
//   Admission a = AdmitOrder(s);
//   if (!a.admitted) { /* reply a.refusal (GATEWAY_BUSY / BRIDGE_DOWN), unless recorded */ }
//
// The rules, in order (the first that refuses wins):
//  1. stopping: no new order (GATEWAY_BUSY) — a draining gateway must not start what it cannot see
//     finish;
//  2. the bridge link is down: BRIDGE_DOWN (nothing could be sent);
//  3. orders reserved or at the bridge reach bridge_max_in_flight: GATEWAY_BUSY;
//  4. what waits at the bridge (its queue: unanswered requests, plus reservations on their way)
//     reaches what it can serve within the signature TTL (BridgeCapacity::Limit): GATEWAY_BUSY at
//     once, rather than an order that would only expire in the bridge's queue. Relays (GET_ACCOUNT,
//     GET_POSITIONS) may use half of it, at least one, so that a flood of them cannot keep orders
//     out; rules 1 and 3 do not apply to them.
// Thread-safety: pure functions.
#ifndef ORDERGATE_GATEWAY_ADMISSION_H_
#define ORDERGATE_GATEWAY_ADMISSION_H_

#include <algorithm>
#include <cstdint>

#include "transport/order.h"

namespace ordergate::gateway {

struct AdmissionState {
  bool stopping = false;
  bool link_up = false;
  uint64_t in_flight = 0;       // orders reserved or at the bridge (OrderLifecycle::in_flight)
  uint64_t max_in_flight = 0;   // bridge_max_in_flight
  uint64_t unanswered = 0;      // requests in the bridge's queue (BridgeLink::unanswered)
  uint64_t reserving = 0;       // reservations on their way to the bridge
  uint64_t capacity_limit = 0;  // BridgeCapacity::Limit at this moment
};

struct Admission {
  bool admitted = false;
  ErrorCode refusal = ErrorCode::kOk;  // kGatewayBusy or kBridgeDown when refused
  bool by_capacity = false;            // refused by rule 4 (counted apart: busy_bridge_capacity)
};

inline bool BridgeHasRoom(const AdmissionState& s, bool relay) {
  const uint64_t allowed = relay ? std::max<uint64_t>(s.capacity_limit / 2, 1) : s.capacity_limit;
  return s.unanswered + s.reserving < allowed;
}

inline Admission AdmitOrder(const AdmissionState& s) {
  if (s.stopping) return {false, ErrorCode::kGatewayBusy, false};
  if (!s.link_up) return {false, ErrorCode::kBridgeDown, false};
  if (s.in_flight >= s.max_in_flight) return {false, ErrorCode::kGatewayBusy, false};
  if (!BridgeHasRoom(s, /*relay=*/false)) return {false, ErrorCode::kGatewayBusy, true};
  return {true, ErrorCode::kOk, false};
}

inline Admission AdmitRelay(const AdmissionState& s) {
  if (!s.link_up) return {false, ErrorCode::kBridgeDown, false};
  if (!BridgeHasRoom(s, /*relay=*/true)) return {false, ErrorCode::kGatewayBusy, true};
  return {true, ErrorCode::kOk, false};
}

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_ADMISSION_H_
