// Helpers for the tests of ordergate::Client against real ordergated and ordergate-bridge-sim
// processes (tests/e2e/e2e_util.h's World).
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "e2e_util.h"
#include "ordergate/client.h"

namespace client_test {

inline ordergate::Order Buy(const std::string& uuid = "") {
  ordergate::Order o;
  o.uuid = uuid;
  o.symbol = "EURUSD";
  o.type = ordergate::TradeType::kBuy;
  o.volume = 0.01;
  return o;
}

// A client of w's gateway; REQUIREs it connected.
inline std::unique_ptr<ordergate::Client> Connect(const e2e::World& w,
                                                  ordergate::ClientOptions o = {}) {
  o.endpoint = w.gw_endpoint;
  auto c = ordergate::Client::Connect(o);
  INFO("Connect: " << c.status().ToString());
  REQUIRE(c.ok());
  return std::move(*c);
}

// Short bridge timeouts (as tests/e2e/e2e_timeout_test.cc's) so that UNKNOWN comes in 0.5 s and
// is asked about every 200 ms.
inline std::vector<std::string> ShortBridgeTimeouts() {
  return {"--bridge-signature-ttl-ms", "300", "--bridge-exec-margin-ms",     "100",
          "--bridge-timeout-ms",       "500", "--unknown-query-interval-ms", "200"};
}

// Asks Status(uuid) until it is FILLED or REJECTED (at most `tries` times, 100 ms apart).
inline std::optional<ordergate::Outcome> StatusUntilSettled(ordergate::Client& c,
                                                            const std::string& uuid,
                                                            int tries = 100) {
  for (int i = 0; i < tries; ++i) {
    auto s = c.Status(uuid);
    if (s.ok() && s->has_value() &&
        ((*s)->status == ordergate::OutcomeStatus::kFilled ||
         (*s)->status == ordergate::OutcomeStatus::kRejected)) {
      return **s;
    }
    std::this_thread::sleep_for(e2e::Ms(100));
  }
  return std::nullopt;
}

}  // namespace client_test
