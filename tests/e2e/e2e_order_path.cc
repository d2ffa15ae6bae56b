#include "e2e_order_path.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/clock.h"

namespace e2e {

namespace {

using ordergate::Outcome;
using ordergate::OutcomeStatus;
using ordergate::test_support::WaitUntil;

// Attempts of one submission that met a "not now" refusal, and the pause between them.
constexpr int kNotNowAttempts = 50;
constexpr Ms kNotNowPause{100};

bool NotNow(const Outcome& out) {
  return out.status == OutcomeStatus::kRejected &&
         (out.error_code == "BRIDGE_DOWN" || out.error_code == "GATEWAY_BUSY");
}

void AppendJsonString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

std::string Number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return buf;
}

const char* TypeName(ordergate::TradeType t) {
  switch (t) {
    case ordergate::TradeType::kBuy:
      return "BUY";
    case ordergate::TradeType::kSell:
      return "SELL";
    case ordergate::TradeType::kBuyLimit:
      return "BUY_LIMIT";
    case ordergate::TradeType::kSellLimit:
      return "SELL_LIMIT";
    case ordergate::TradeType::kBuyStop:
      return "BUY_STOP";
    case ordergate::TradeType::kSellStop:
      return "SELL_STOP";
  }
  return "BUY";
}

// The Order as a client library would write it on the wire: an unset string (empty) or ticket
// (0) is left out, every number is written. Non-finite numbers have no JSON form: the suite does
// not submit them.
std::string WireBody(const ordergate::Order& o) {
  std::string b =
      o.action == ordergate::OrderAction::kClose ? R"({"action":"CLOSE")" : R"({"action":"OPEN")";
  if (!o.uuid.empty()) {
    b += ",\"uuid\":";
    AppendJsonString(o.uuid, &b);
  }
  if (o.action == ordergate::OrderAction::kClose) {
    if (o.ticket != 0) b += ",\"ticket\":" + std::to_string(o.ticket);
  } else {
    if (!o.symbol.empty()) {
      b += ",\"symbol\":";
      AppendJsonString(o.symbol, &b);
    }
    b += std::string(",\"type\":\"") + TypeName(o.type) + "\"";
    b += ",\"volume\":" + Number(o.volume) + ",\"price\":" + Number(o.price) +
         ",\"sl\":" + Number(o.sl) + ",\"tp\":" + Number(o.tp);
  }
  if (!o.comment.empty()) {
    b += ",\"comment\":";
    AppendJsonString(o.comment, &b);
  }
  if (o.magic) b += ",\"magic\":" + std::to_string(*o.magic);
  return b + "}";
}

// A wire reply as the public Outcome. "error" (an envelope refusal) becomes kRejected with its
// code; "PENDING" becomes kInFlight (the caller asks again). `recorded` is not on the wire: the
// suite learns it through Lookup().
Outcome FromReply(const Json& r, const std::string& uuid) {
  Outcome out;
  out.uuid = r.Str("uuid").value_or(uuid);
  const std::string s = r.S("status");
  if (s == "FILLED") {
    out.status = OutcomeStatus::kFilled;
  } else if (s == "UNKNOWN") {
    out.status = OutcomeStatus::kUnknown;
  } else if (s == "PENDING") {
    out.status = OutcomeStatus::kInFlight;
  } else {
    out.status = OutcomeStatus::kRejected;
  }
  out.ticket = r.Int("ticket").value_or(0);
  out.price = r.Num("price").value_or(0);
  out.volume = r.Num("volume").value_or(0);
  out.error_code = r.S("error_code");
  out.message = r.S("error_msg");
  out.duplicate = r.Bool("duplicate").value_or(false);
  out.gateway_us = r.Int("gateway_us").value_or(0);
  out.reply_json = r.raw();
  return out;
}

Outcome Failure(const std::string& uuid, const std::string& code, const std::string& why) {
  Outcome out;
  out.uuid = uuid;
  out.status = OutcomeStatus::kRejected;
  out.error_code = code;
  out.message = why;
  return out;
}

std::vector<std::string> TimingFlags(const Timing& t) {
  return {"--bridge-timeout-ms",         std::to_string(t.bridge_timeout_ms),
          "--bridge-signature-ttl-ms",   std::to_string(t.signature_ttl_ms),
          "--bridge-exec-margin-ms",     std::to_string(t.exec_margin_ms),
          "--unknown-query-interval-ms", std::to_string(t.unknown_query_interval_ms)};
}

std::string Uuid(const std::string& prefix, int i) { return prefix + "-" + std::to_string(i); }

// Waits (bounded) until the simulator has executed `kill_at` orders or `finished` says the burst
// is over; returns the executions seen.
size_t WaitForExecutions(const World& w, size_t kill_at, const std::function<bool()>& finished) {
  size_t executed = 0;
  WaitUntil(
      [&] {
        executed = ReadJournal(w.journal()).entries.size();
        return executed >= kill_at || finished();
      },
      Ms(30000), Ms(2));
  return executed;
}

// A line of embedded_strategy's stdout as an Outcome.
std::optional<Outcome> FromStrategyLine(const std::string& line) {
  auto j = Json::Parse(line);
  if (!j || !j->Has("uuid")) return std::nullopt;
  Outcome out = FromReply(*j, "");
  if (j->S("status") == "REJECTED" || j->S("status") == "FILLED" || j->S("status") == "UNKNOWN") {
    return out;
  }
  out.status = OutcomeStatus::kInFlight;  // anything else is no outcome the suite accepts
  return out;
}

std::vector<Outcome> StrategyOutcomes(Process& p) {
  std::vector<Outcome> out;
  for (const std::string& line : p.StdoutLines()) {
    if (auto o = FromStrategyLine(line)) out.push_back(*o);
  }
  return out;
}

}  // namespace

bool IsFinal(const Outcome& out) {
  return out.status == OutcomeStatus::kFilled || out.status == OutcomeStatus::kUnknown ||
         (out.status == OutcomeStatus::kRejected && !NotNow(out));
}

std::string Describe(const Outcome& out) {
  std::string d = out.uuid + " " + ordergate::OutcomeStatusName(out.status);
  if (out.ticket != 0) d += " " + std::to_string(out.ticket);
  if (!out.error_code.empty()) d += " " + out.error_code;
  if (out.duplicate) d += " dup";
  return d;
}

ordergate::Order Buy(const std::string& uuid, double volume) {
  ordergate::Order o;
  o.uuid = uuid;
  o.symbol = "EURUSD";
  o.type = ordergate::TradeType::kBuy;
  o.volume = volume;
  return o;
}

// ---------------------------------------------------------------------------------------------
// DaemonPath

void DaemonPath::Start(const std::string& bridge, bool wait_up, const Timing& timing) {
  bridge_ = bridge;
  args_ = TimingFlags(timing);
  w_.StartGateway(args_, bridge_);
  if (wait_up) REQUIRE(w_.WaitBridge("up"));
}

bool DaemonPath::WaitBridgeUp(Ms timeout) { return w_.WaitBridge("up", timeout); }

Outcome DaemonPath::SubmitOn(DealerClient& d, const ordergate::Order& order) {
  const std::string body = WireBody(order);
  // PENDING: the reply deadline came first; the same uuid is asked again until it is final.
  for (int asked = 0; asked < 20; ++asked) {
    d.Send(body);
    for (;;) {
      auto r = d.RecvJson(Ms(8000));
      if (!r) return Failure(order.uuid, "NO_REPLY", "ordergated did not answer within 8 s");
      // A late reply to an earlier request of this socket is not this order's answer.
      const std::string uuid = r->S("uuid");
      if (!uuid.empty() && uuid != order.uuid) continue;
      Outcome out = FromReply(*r, order.uuid);
      if (out.status != OutcomeStatus::kInFlight) return out;
      break;
    }
  }
  return Failure(order.uuid, "STILL_PENDING", "PENDING after 20 asks");
}

Outcome DaemonPath::Submit(const ordergate::Order& order) {
  DealerClient d(w_.ctx, w_.gw_endpoint);
  return SubmitOn(d, order);
}

std::optional<Outcome> DaemonPath::Lookup(const std::string& uuid) {
  ReqClient c(w_.ctx, w_.gw_endpoint);
  auto r = c.CallJson(StatusBody(uuid), Ms(5000));
  if (!r) return Failure(uuid, "LOOKUP_FAILED", "no ORDER_STATUS reply");
  if (r->S("status") == "error") {
    if (r->S("error_code") == "NOT_FOUND") return std::nullopt;
    return Failure(uuid, "LOOKUP_FAILED", r->raw());
  }
  return FromReply(*r, uuid);
}

void DaemonPath::Restart() {
  REQUIRE(w_.StopGateway(SIGTERM) == 0);
  w_.StartGateway(args_, bridge_);
  REQUIRE(w_.WaitBridge("up"));
}

CrashRuns DaemonPath::CrashMidBurstAndRestart(const std::string& prefix, int n, size_t kill_at) {
  Start(w_.sim_endpoint, true, kDefaultTiming);
  CrashRuns runs;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::atomic<int> bursting{2};
  // Two strategy threads, each a DEALER sending every uuid (the second a retry of the first),
  // up to kWindow outstanding; "not now" refusals and PENDING are sent again.
  auto burst = [&] {
    constexpr size_t kWindow = 16;
    DealerClient d(w_.ctx, w_.gw_endpoint);
    std::deque<std::string> todo;
    for (int i = 0; i < n; ++i) todo.push_back(Uuid(prefix, i));
    std::set<std::string> outstanding;
    const auto give_up = ordergate::test_support::SteadyNow() + Ms(30000);
    while (!stop.load() && ordergate::test_support::SteadyNow() < give_up &&
           (!todo.empty() || !outstanding.empty())) {
      while (outstanding.size() < kWindow && !todo.empty()) {
        const std::string u = todo.front();
        todo.pop_front();
        if (outstanding.insert(u).second) d.Send(WireBody(Buy(u, 0.01)));
      }
      auto r = d.RecvJson(Ms(50));
      if (!r) continue;
      const Outcome out = FromReply(*r, "");
      {
        std::lock_guard<std::mutex> l(mu);
        runs.first.push_back(out);
      }
      if (outstanding.erase(out.uuid) == 0) continue;
      if (!IsFinal(out)) todo.push_back(out.uuid);
    }
    bursting.fetch_sub(1);
  };
  std::thread a(burst);
  std::thread b(burst);
  runs.executed_at_kill = WaitForExecutions(w_, kill_at, [&] { return bursting.load() == 0; });
  runs.killed_mid_burst =
      bursting.load() > 0 && w_.gw->Running() && runs.executed_at_kill < static_cast<size_t>(n);
  w_.KillGateway();
  stop = true;
  a.join();
  b.join();

  w_.StartGateway(args_, bridge_);
  REQUIRE(w_.WaitBridge("up"));
  // The restarted strategy: every uuid again, from two threads, until each is final.
  std::atomic<int> unresolved{0};
  auto again = [&] {
    DealerClient d(w_.ctx, w_.gw_endpoint);
    for (int i = 0; i < n; ++i) {
      Outcome out;
      for (int attempt = 0; attempt < kNotNowAttempts; ++attempt) {
        out = SubmitOn(d, Buy(Uuid(prefix, i), 0.01));
        {
          std::lock_guard<std::mutex> l(mu);
          runs.second.push_back(out);
        }
        if (IsFinal(out)) break;
        std::this_thread::sleep_for(kNotNowPause);
      }
      if (!IsFinal(out)) unresolved.fetch_add(1);
    }
  };
  std::thread c(again);
  std::thread e(again);
  c.join();
  e.join();
  runs.second_exit = unresolved.load() == 0 ? 0 : 1;
  runs.notes = "ordergated stderr after the restart:\n" + w_.gw->Stderr();
  return runs;
}

void DaemonPath::OpenAfterCrash() { REQUIRE(w_.gw->Running()); }

// ---------------------------------------------------------------------------------------------
// EmbeddedPath

EmbeddedPath::~EmbeddedPath() { gw_.reset(); }

void EmbeddedPath::Open() {
  auto gw = ordergate::Gateway::Open(options_);
  INFO("Gateway::Open: " << gw.status().ToString());
  REQUIRE(gw.ok());
  gw_ = std::move(*gw);
}

void EmbeddedPath::Start(const std::string& bridge, bool wait_up, const Timing& timing) {
  options_ = ordergate::GatewayOptions();
  options_.bridge_endpoint = bridge;
  options_.data_dir = w_.data_dir();
  options_.bridge_timeout_ms = timing.bridge_timeout_ms;
  options_.bridge_signature_ttl_ms = timing.signature_ttl_ms;
  options_.bridge_exec_margin_ms = timing.exec_margin_ms;
  options_.unknown_query_interval_ms = timing.unknown_query_interval_ms;
  Open();
  if (wait_up) REQUIRE(WaitBridgeUp(Ms(10000)));
}

bool EmbeddedPath::WaitBridgeUp(Ms timeout) {
  return WaitUntil([&] { return gw_->stats().bridge_up; }, timeout, Ms(10));
}

Outcome EmbeddedPath::Submit(const ordergate::Order& order) { return gw_->SubmitAndWait(order); }

std::optional<Outcome> EmbeddedPath::Lookup(const std::string& uuid) {
  auto st = gw_->Status(uuid);
  if (!st.ok()) return Failure(uuid, "LOOKUP_FAILED", st.status().ToString());
  return *st;
}

void EmbeddedPath::Restart() {
  REQUIRE(gw_->Close().ok());
  gw_.reset();
  Open();
  REQUIRE(WaitBridgeUp(Ms(10000)));
}

CrashRuns EmbeddedPath::CrashMidBurstAndRestart(const std::string& prefix, int n, size_t kill_at) {
  // The strategy process IS the gateway here: the example strategy on the public API.
  const std::string exe = BinDir() + "/embedded_strategy";
  INFO("strategy binary: " << exe);
  REQUIRE(::access(exe.c_str(), X_OK) == 0);
  const std::vector<std::string> args = {
      "--bridge",        w_.sim_endpoint, "--data-dir", w_.data_dir(),  "--orders",
      std::to_string(n), "--prefix",      prefix,       "--durability", "sync"};
  CrashRuns runs;
  {
    Process first(exe, args, w_.dir.File("strategy-1.stderr"));
    runs.executed_at_kill = WaitForExecutions(w_, kill_at, [&] { return !first.Running(); });
    runs.killed_mid_burst = first.Running() && runs.executed_at_kill < static_cast<size_t>(n);
    first.Signal(SIGKILL);
    first.Wait(Ms(10000));
    // Lines still in its stdio buffer died with it: these are the outcomes that reached us.
    runs.first = StrategyOutcomes(first);
    runs.notes = "strategy run 1 stderr:\n" + first.Stderr();
  }
  Process second(exe, args, w_.dir.File("strategy-2.stderr"));
  auto st = second.Wait(Ms(60000));
  runs.second_exit = st ? Process::Decode(*st) : -1000;
  runs.second = StrategyOutcomes(second);
  runs.notes += "\nstrategy run 2 stderr:\n" + second.Stderr();
  return runs;
}

void EmbeddedPath::OpenAfterCrash() { Start(w_.sim_endpoint, /*wait_up=*/true, kDefaultTiming); }

}  // namespace e2e
