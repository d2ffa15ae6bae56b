// Assertions shared by the end-to-end test files (Catch2 macros: call from the test thread only).
#pragma once

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "e2e_util.h"

namespace e2e {

// The invariant every test ends with: no uuid executed more than once at the bridge.
inline Journal RequireAtMostOnce(const World& w) {
  Journal j = ReadJournal(w.journal());
  const auto dups = j.Duplicates();
  INFO("journal " << w.journal() << ": " << j.entries.size() << " executions, "
                  << dups.size() << " uuid(s) executed more than once"
                  << (dups.empty() ? std::string() : ", first: " + dups.front()));
  CHECK(j.unreadable_lines == 0);
  REQUIRE(dups.empty());
  return j;
}

inline bool IsOrderStatus(const std::string& s) {
  return s == "FILLED" || s == "REJECTED" || s == "PENDING" || s == "UNKNOWN";
}

// Replies to OPEN/CLOSE/ORDER_STATUS carry duplicate (bool) and gateway_us (int).
inline void CheckGatewayFields(const Json& r) {
  INFO("reply: " << r.raw());
  CHECK(r.Bool("duplicate").has_value());
  REQUIRE(r.Int("gateway_us").has_value());
  CHECK(*r.Int("gateway_us") >= 0);
}

}  // namespace e2e
