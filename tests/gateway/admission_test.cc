// Every rule of admission (gateway/admission.h), in order, for orders and relays.
#include "gateway/admission.h"

#include <catch2/catch.hpp>

namespace {

using ordergate::ErrorCode;
using ordergate::gateway::AdmissionState;
using ordergate::gateway::AdmitOrder;
using ordergate::gateway::AdmitRelay;

AdmissionState Open() {
  AdmissionState s;
  s.stopping = false;
  s.link_up = true;
  s.in_flight = 10;
  s.max_in_flight = 900;
  s.unanswered = 10;
  s.reserving = 0;
  s.capacity_limit = 100;
  return s;
}

}  // namespace

TEST_CASE("an order is admitted while the gateway runs, the link is up and the bridge has room",
          "[admission]") {
  const auto a = AdmitOrder(Open());
  CHECK(a.admitted);
  CHECK(a.refusal == ErrorCode::kOk);
  CHECK_FALSE(a.by_capacity);
}

TEST_CASE("a stopping gateway refuses new orders as GATEWAY_BUSY before anything else",
          "[admission]") {
  AdmissionState s = Open();
  s.stopping = true;
  s.link_up = false;  // rule 1 wins over rule 2
  const auto a = AdmitOrder(s);
  CHECK_FALSE(a.admitted);
  CHECK(a.refusal == ErrorCode::kGatewayBusy);
  CHECK_FALSE(a.by_capacity);
}

TEST_CASE("a link that is down refuses orders and relays as BRIDGE_DOWN", "[admission]") {
  AdmissionState s = Open();
  s.link_up = false;
  s.in_flight = s.max_in_flight;  // rule 2 wins over rule 3
  CHECK(AdmitOrder(s).refusal == ErrorCode::kBridgeDown);
  CHECK(AdmitRelay(s).refusal == ErrorCode::kBridgeDown);
}

TEST_CASE("orders at bridge_max_in_flight are refused as GATEWAY_BUSY, relays are not held to it",
          "[admission]") {
  AdmissionState s = Open();
  s.in_flight = s.max_in_flight;
  const auto a = AdmitOrder(s);
  CHECK_FALSE(a.admitted);
  CHECK(a.refusal == ErrorCode::kGatewayBusy);
  CHECK_FALSE(a.by_capacity);
  s.in_flight = s.max_in_flight - 1;
  CHECK(AdmitOrder(s).admitted);
  s.in_flight = s.max_in_flight;
  CHECK(AdmitRelay(s).admitted);
}

TEST_CASE("the bridge's queue at its capacity refuses at once, counting reservations on their way",
          "[admission]") {
  AdmissionState s = Open();
  s.unanswered = 60;
  s.reserving = 39;  // 99 < 100: one more fits
  CHECK(AdmitOrder(s).admitted);
  s.reserving = 40;  // 100: full
  const auto a = AdmitOrder(s);
  CHECK_FALSE(a.admitted);
  CHECK(a.refusal == ErrorCode::kGatewayBusy);
  CHECK(a.by_capacity);
}

TEST_CASE("relays get half the bridge's capacity, and at least one place", "[admission]") {
  AdmissionState s = Open();
  s.unanswered = 49;
  CHECK(AdmitRelay(s).admitted);  // 49 < 50
  s.unanswered = 50;
  const auto a = AdmitRelay(s);
  CHECK_FALSE(a.admitted);
  CHECK(a.by_capacity);
  CHECK(AdmitOrder(s).admitted);  // orders still have the other half
  s.capacity_limit = 1;
  s.unanswered = 0;
  CHECK(AdmitRelay(s).admitted);  // max(1 / 2, 1) = 1
  s.unanswered = 1;
  CHECK_FALSE(AdmitRelay(s).admitted);
}
