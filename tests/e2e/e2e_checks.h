// Assertions shared by the end-to-end test files (Catch2 macros: call from the test thread only).
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "e2e_util.h"

namespace e2e {

// The invariant every test ends with: no uuid executed more than once at the bridge.
inline Journal RequireAtMostOnce(const World& w) {
  Journal j = ReadJournal(w.journal());
  const auto dups = j.Duplicates();
  INFO("journal " << w.journal() << ": " << j.entries.size() << " executions, " << dups.size()
                  << " uuid(s) executed more than once"
                  << (dups.empty() ? std::string() : ", first: " + dups.front()));
  CHECK(j.unreadable_lines == 0);
  REQUIRE(dups.empty());
  // In sanitizer builds, a finding in ordergated or the simulator fails the test.
  const auto reports = SanitizerReports(w.dir.path());
  INFO("sanitizer reports: " << reports.size()
                             << (reports.empty() ? "" : "; first: " + reports.front()));
  CHECK(reports.empty());
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

// What a reply must say; a field left unset is not checked.
struct Expect {
  std::string status;
  std::optional<std::string> error_code = std::nullopt;
  std::optional<bool> duplicate = std::nullopt;
};

// CHECKs `r` against `want`, with `label` and the reply in the message.
inline void CheckReply(const Json& r, std::string_view label, const Expect& want) {
  INFO(label << ": " << r.raw());
  CHECK(r.S("status") == want.status);
  if (want.error_code) CHECK(r.S("error_code") == *want.error_code);
  if (want.duplicate) CHECK(r.Bool("duplicate") == *want.duplicate);
}

// An ordergated that was refused start: it never said it was ready.
inline void CheckNeverReady(Process& gw) {
  for (const auto& line : gw.StdoutLines()) CHECK(line.rfind("ordergated ready", 0) != 0);
}

// Takes "name value" off a Prometheus text body; -1 if absent.
inline double MetricValue(const std::string& body, const std::string& name) {
  size_t pos = 0;
  while ((pos = body.find(name, pos)) != std::string::npos) {
    const bool line_start = pos == 0 || body[pos - 1] == '\n';
    const size_t after = pos + name.size();
    if (line_start && after < body.size() && (body[after] == ' ' || body[after] == '{')) {
      const size_t sp = body.find(' ', after);
      if (sp != std::string::npos) return std::atof(body.c_str() + sp + 1);
    }
    pos = after;
  }
  return -1;
}

// The value of `name` in the world's gateway's /metrics (which must answer 200); -1 if absent.
inline double Metric(const World& w, const std::string& name) {
  const auto m = HttpGet(w.metrics_port, "/metrics");
  REQUIRE(m.first == 200);
  return MetricValue(m.second, name);
}

}  // namespace e2e
