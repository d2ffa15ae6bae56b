// Pre-trade limits and the audit log through the real processes (issue 15): ordergated with a
// --config file holding [limits.default] (no CURVE: every client is the empty identity, which
// gets the default), ordergate-bridge-sim behind it, raw REQ / DEALER clients in front.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "e2e_util.h"

namespace e2e {
namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// An OPEN of `volume` written with every digit, so that the next representable double survives.
std::string OpenExact(const std::string& uuid, double volume, const std::string& symbol = "EURUSD",
                      const std::string& extra = "") {
  char vol[64];
  std::snprintf(vol, sizeof vol, "%.17g", volume);
  std::string b = R"({"action":"OPEN","uuid":")" + uuid + R"(","symbol":")" + symbol +
                  R"(","type":"BUY","volume":)" + vol;
  if (!extra.empty()) b += "," + extra;
  return b + "}";
}

// Polls the gateway's stderr until it holds `text`.
bool WaitStderr(World& w, const std::string& text, Ms timeout = Ms(5000)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (w.gw->Stderr().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(Ms(20));
  }
  return false;
}

// Rewrites the config with `limits`, sends SIGHUP, and waits for the reload's log line.
void Reload(World& w, const std::string& config, const std::string& limits) {
  const size_t before = w.gw->Stderr().size();
  WriteFile(config, limits);
  REQUIRE(w.gw->Signal(SIGHUP));
  const auto end = std::chrono::steady_clock::now() + Ms(5000);
  while (std::chrono::steady_clock::now() < end) {
    const std::string err = w.gw->Stderr();
    if (err.size() > before && err.find("SIGHUP: limits", before) != std::string::npos) return;
    std::this_thread::sleep_for(Ms(20));
  }
  FAIL("no reload line after SIGHUP:\n" << w.gw->Stderr());
}

// The gateway's flags for a config file (and an info log, for the reload lines).
std::vector<std::string> WithConfig(const std::string& config) {
  return {"--config", config, "--log-level", "info"};
}

TEST_CASE(
    "Limits refuse exactly at their edges through the real front end: RISK_LIMIT, the "
    "limit named, nothing sent, and the same uuid passes once the limit allows it",
    "[e2e][limits]") {
  World w;
  const std::string config = w.dir.File("ordergate.toml");
  WriteFile(config, "[limits.default]\nmax_volume = 0.5\nsymbols = [\"EURUSD\", \"XAUUSD\"]\n");
  w.Start({}, WithConfig(config));
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string at = UniqueId("at-edge");
  auto r = c.CallJson(OpenExact(at, 0.5));
  REQUIRE(r);
  CHECK(r->S("status") == "FILLED");

  const double above = std::nextafter(0.5, std::numeric_limits<double>::infinity());
  const std::string over = UniqueId("over-edge");
  r = c.CallJson(OpenExact(over, above));
  REQUIRE(r);
  CHECK(r->S("status") == "REJECTED");
  CHECK(r->S("error_code") == "RISK_LIMIT");
  CHECK_THAT(r->raw(), Catch::Contains("max_volume 0.5 exceeded: volume 0.5000000000000001"));

  const std::string symbol = UniqueId("symbol");
  r = c.CallJson(OpenExact(symbol, 0.1, "GBPUSD"));
  REQUIRE(r);
  CHECK(r->S("error_code") == "RISK_LIMIT");
  CHECK_THAT(r->raw(), Catch::Contains("symbols: GBPUSD"));

  // Not recorded: once the limit is raised, the very same uuid is an order like any other.
  Reload(w, config, "[limits.default]\nmax_volume = 1.0\nsymbols = [\"EURUSD\"]\n");
  r = c.CallJson(OpenExact(over, above));
  REQUIRE(r);
  CHECK(r->S("status") == "FILLED");
  // CLOSE has no symbol or volume: it passes what would refuse an OPEN.
  r = c.CallJson(CloseBody(UniqueId("close"), 12345));
  REQUIRE(r);
  CHECK(r->S("error_code") != "RISK_LIMIT");

  REQUIRE(w.StopGateway(SIGTERM) == 0);
  const Journal j = ReadJournal(w.journal());
  CHECK(j.Count(at) == 1);
  CHECK(j.Count(over) == 1);  // once: after the raise, never before
  CHECK(j.Count(symbol) == 0);
  CHECK(j.Duplicates().empty());
  // The refusals are counted by limit.
}

TEST_CASE(
    "The rate limit's burst passes and the next order of the same instant is refused, "
    "with the refusals counted by limit in /metrics",
    "[e2e][limits]") {
  World w;
  const std::string config = w.dir.File("ordergate.toml");
  // 5 a second, burst 5: the sixth of a quick burst waits 200 ms for its token.
  WriteFile(config, "[limits.default]\nmax_orders_per_second = 5\n");
  w.Start({}, WithConfig(config));
  DealerClient d(w.ctx, w.gw_endpoint);
  for (int i = 0; i < 6; ++i) d.Send(OpenBody(UniqueId("rate")));
  int filled = 0, refused = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = d.RecvJson(Ms(5000));
    REQUIRE(r);
    if (r->S("status") == "FILLED") ++filled;
    if (r->S("error_code") == "RISK_LIMIT") {
      ++refused;
      CHECK_THAT(r->raw(), Catch::Contains("max_orders_per_second 5 exceeded"));
    }
  }
  CHECK(filled == 5);
  CHECK(refused == 1);
  const auto [code, body] = HttpGet(w.metrics_port, "/metrics");
  REQUIRE(code == 200);
  CHECK_THAT(body,
             Catch::Contains("ordergate_risk_refusals_total{limit=\"max_orders_per_second\"} 1"));
  CHECK_THAT(body, Catch::Contains("ordergate_risk_refusals_total{limit=\"max_volume\"} 0"));
}

TEST_CASE(
    "SIGHUP changes the limits under load and no order is lost: every order gets exactly "
    "one final reply, and each uuid is executed at most once",
    "[e2e][limits]") {
  World w;
  const std::string config = w.dir.File("ordergate.toml");
  WriteFile(config, "[limits.default]\nmax_volume = 1.0\n");
  // 5 ms per execution: orders are in flight at the bridge while the limits change.
  w.Start({"--latency", "fixed:5"}, WithConfig(config));
  DealerClient d(w.ctx, w.gw_endpoint);
  constexpr int kOrders = 300;
  std::vector<std::string> uuids;
  std::map<std::string, std::vector<std::string>> replies;  // uuid -> statuses
  auto drain = [&](Ms timeout) {
    while (auto r = d.RecvJson(timeout)) {
      const std::string status = r->S("status");
      const std::string code = r->S("error_code");
      replies[r->S("uuid")].push_back(code == "RISK_LIMIT" ? "RISK_LIMIT"
                                      : status == "FILLED" ? "FILLED"
                                                           : status + " " + code);
    }
  };
  // A window of 16 orders at the bridge (about 80 ms of its work), so that admission never
  // refuses one as GATEWAY_BUSY: every reply is the limits' decision or the bridge's fill.
  constexpr size_t kWindow = 16;
  const auto end = std::chrono::steady_clock::now() + Ms(30000);
  while (replies.size() < static_cast<size_t>(kOrders) && std::chrono::steady_clock::now() < end) {
    while (uuids.size() < static_cast<size_t>(kOrders) && uuids.size() - replies.size() < kWindow) {
      uuids.push_back(UniqueId("load"));
      d.Send(OpenBody(uuids.back(), 0.5, R"("timeout_ms":20000)"));
      if (uuids.size() == kOrders / 2) {
        // Down to 0.4 mid-stream, with orders in flight: the orders from here on are refused,
        // those before are not.
        const size_t before = w.gw->Stderr().size();
        WriteFile(config, "[limits.default]\nmax_volume = 0.4\n");
        REQUIRE(w.gw->Signal(SIGHUP));
        while (w.gw->Stderr().find("SIGHUP: limits", before) == std::string::npos &&
               std::chrono::steady_clock::now() < end) {
          drain(Ms(5));
        }
      }
    }
    drain(Ms(20));
  }
  drain(Ms(300));  // and nothing more comes

  int filled = 0, refused = 0;
  std::string others;
  for (const auto& [u, statuses] : replies) {
    for (const std::string& st : statuses) {
      if (st != "FILLED" && st != "RISK_LIMIT") others += u + " " + st + "\n";
    }
  }
  INFO("other replies:\n" << others);
  for (const std::string& u : uuids) {
    INFO(u);
    REQUIRE(replies.count(u) == 1);
    REQUIRE(replies[u].size() == 1);  // exactly one final reply (no PENDING at 2 s here)
    if (replies[u][0] == "FILLED") ++filled;
    if (replies[u][0] == "RISK_LIMIT") ++refused;
  }
  CHECK(filled + refused == kOrders);
  CHECK(filled >= kOrders / 2);
  CHECK(refused >= 1);
  REQUIRE(w.StopGateway(SIGTERM) == 0);
  const Journal j = ReadJournal(w.journal());
  CHECK(j.Duplicates().empty());
  for (const std::string& u : uuids) {
    CHECK(j.Count(u) == (replies[u][0] == "FILLED" ? 1u : 0u));
  }
}

TEST_CASE("A limits file that does not load on SIGHUP keeps the limits in force and says why",
          "[e2e][limits]") {
  World w;
  const std::string config = w.dir.File("ordergate.toml");
  WriteFile(config, "[limits.default]\nmax_volume = 0.5\n");
  w.Start({}, WithConfig(config));
  WriteFile(config, "[limits.default]\nmax_volum = 5.0\n");
  REQUIRE(w.gw->Signal(SIGHUP));
  REQUIRE(WaitStderr(w, "limits not reloaded"));
  CHECK(WaitStderr(w, "max_volum is not a limit"));
  ReqClient c(w.ctx, w.gw_endpoint);
  auto r = c.CallJson(OpenBody(UniqueId("kept"), 0.6));
  REQUIRE(r);
  CHECK(r->S("error_code") == "RISK_LIMIT");
  r = c.CallJson(OpenBody(UniqueId("kept"), 0.5));
  REQUIRE(r);
  CHECK(r->S("status") == "FILLED");
  // A bad file at start refuses to start, naming the file and line.
  REQUIRE(w.StopGateway(SIGTERM) == 0);
  Process bad(BinDir() + "/ordergated",
              {"--config", config, "--listen", "tcp://127.0.0.1:*", "--bridge", w.sim_endpoint,
               "--data-dir", w.data_dir(), "--metrics-listen", ""},
              w.dir.File("bad.stderr"));
  const std::optional<int> rc = bad.Wait(Ms(10000));
  INFO(bad.Stderr());
  REQUIRE(rc.has_value());
  CHECK(Process::Decode(*rc) == 2);
  CHECK_THAT(bad.Stderr(), Catch::Contains("ordergate.toml:2: limits.default.max_volum"));
}

TEST_CASE(
    "The audit log holds one line per decision, with the identity, the uuid and what the "
    "decision needs, and never a key",
    "[e2e][audit]") {
  World w;
  const std::string config = w.dir.File("ordergate.toml");
  WriteFile(config, "[limits.default]\nmax_volume = 0.5\n");
  w.Start({}, {"--config", config, "--audit-log", "audit.jsonl"});
  ReqClient c(w.ctx, w.gw_endpoint);
  const std::string u1 = UniqueId("audited");
  const std::string u2 = UniqueId("refused");
  auto r = c.CallJson(OpenBody(u1, 0.1));
  REQUIRE(r);
  REQUIRE(r->S("status") == "FILLED");
  r = c.CallJson(OpenBody(u1, 0.1));  // a resend: replayed
  REQUIRE(r);
  CHECK(r->Bool("duplicate") == true);
  r = c.CallJson(OpenBody(u1, 0.2));  // the uuid of another order
  REQUIRE(r);
  CHECK(r->S("error_code") == "IDEMPOTENCY_CONFLICT");
  r = c.CallJson(OpenBody(u2, 0.6));
  REQUIRE(r);
  CHECK(r->S("error_code") == "RISK_LIMIT");
  REQUIRE(w.StopGateway(SIGTERM) == 0);  // the log is written out at close

  std::ifstream in(w.data_dir() + "/audit.jsonl");
  std::vector<std::string> events_u1, events_u2;
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto j = Json::Parse(line);
    REQUIRE(j);
    CHECK(j->Has("time"));
    CHECK(j->Str("identity") == std::string());  // no CURVE: the empty identity
    CHECK_FALSE(j->Has("risk_signature"));
    CHECK(line.find("key") == std::string::npos);
    if (j->S("uuid") == u1) events_u1.push_back(j->S("event"));
    if (j->S("uuid") == u2) {
      events_u2.push_back(j->S("event"));
      CHECK(j->S("error_code") == "RISK_LIMIT");
      CHECK_THAT(j->S("message"), Catch::Contains("max_volume 0.5 exceeded"));
      CHECK(j->S("symbol") == "EURUSD");
    }
    if (j->S("event") == "filled") CHECK(!j->S("ticket").empty());
    if (j->S("event") == "sent") CHECK(j->Num("volume") == 0.1);
  }
  CHECK(lines == 5);
  CHECK(events_u1 == std::vector<std::string>{"sent", "filled", "duplicate", "conflict"});
  CHECK(events_u2 == std::vector<std::string>{"risk_refused"});
}

}  // namespace
}  // namespace e2e
