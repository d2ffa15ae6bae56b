// End to end, the checkpoint report (issue 11): a known load with retries (after the reply and
// while in flight) and conflicts, through real ordergated and ordergate-bridge-sim processes, a
// kill -9 and a restart in the middle, then `ordergatectl checkpoint --window 1h --json` against
// what the clients themselves counted.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"

using namespace e2e;

namespace {

using Clock = std::chrono::steady_clock;

// What the clients saw.
struct ClientCounts {
  std::set<std::string> accepted;  // uuids with an original FILLED / REJECTED / UNKNOWN reply
  std::set<std::string> filled, rejected, unknown;
  uint64_t duplicate_replies = 0;  // replies to OPEN with duplicate:true
  uint64_t conflicts = 0;          // IDEMPOTENCY_CONFLICT
  uint64_t other = 0;              // anything else (refusals): the load must have none
  std::vector<double> filled_ms;   // send -> original FILLED reply, per order
};

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Sends `bodies` (uuid -> body, each at most once per call) on one DEALER, all outstanding at
// once, and counts every reply.
void Exchange(DealerClient& c, const std::vector<std::pair<std::string, std::string>>& bodies,
              ClientCounts* counts) {
  std::map<std::string, std::vector<Clock::time_point>> sent_at;
  for (const auto& [uuid, body] : bodies) {
    sent_at[uuid].push_back(Clock::now());
    c.Send(body);
  }
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto reply = c.RecvJson(Ms(10000));
    REQUIRE(reply);
    const Clock::time_point at = Clock::now();
    const std::string uuid = reply->S("uuid");
    const std::string status = reply->S("status");
    INFO("reply: " << reply->raw());
    if (reply->Bool("duplicate").value_or(false)) {
      ++counts->duplicate_replies;
    } else if (reply->S("error_code") == "IDEMPOTENCY_CONFLICT") {
      ++counts->conflicts;
    } else if (status == "FILLED" || status == "REJECTED" || status == "UNKNOWN") {
      counts->accepted.insert(uuid);
      (status == "FILLED"     ? counts->filled
       : status == "REJECTED" ? counts->rejected
                              : counts->unknown)
          .insert(uuid);
      if (status == "FILLED") {
        REQUIRE_FALSE(sent_at[uuid].empty());
        counts->filled_ms.push_back(
            std::chrono::duration<double, std::milli>(at - sent_at[uuid].front()).count());
      }
    } else {
      ++counts->other;
    }
  }
}

// One phase: `n` new orders in bursts of 10, each burst also carrying a retry of its first order
// while it is in flight (it joins) and, once answered, a retry of every 4th order (a replay) and a
// conflicting resend (twice the volume) of every 10th.
void Load(World& w, const std::string& prefix, int n, ClientCounts* counts,
          std::vector<std::string>* uuids) {
  DealerClient c(w.ctx, w.gw_endpoint);
  for (int start = 0; start < n; start += 10) {
    std::vector<std::pair<std::string, std::string>> burst, after;
    for (int i = start; i < std::min(n, start + 10); ++i) {
      const std::string uuid = prefix + "-" + std::to_string(i);
      uuids->push_back(uuid);
      burst.emplace_back(uuid, OpenBody(uuid));
      if (i == start) burst.emplace_back(uuid, OpenBody(uuid));  // joins the one in flight
      if (i % 4 == 0) after.emplace_back(uuid, OpenBody(uuid));
      if (i % 10 == 3) after.emplace_back(uuid, OpenBody(uuid, 0.2));
    }
    Exchange(c, burst, counts);
    Exchange(c, after, counts);
  }
}

// The gateway's 1 h window, once it shows `orders` orders and that state is in the store.
Json WaitForWindow(World& w, size_t orders) {
  std::optional<Json> last;
  for (int i = 0; i < 200; ++i) {
    const auto [code, body] = HttpGet(w.metrics_port, "/admin/windows?window=1h");
    if (code == 200) {
      last = Json::Parse(body);
      if (last && last->Int("orders") == static_cast<int64_t>(orders) &&
          last->Int("persisted_unix_ms") >= last->Int("published_unix_ms")) {
        return *last;
      }
    }
    std::this_thread::sleep_for(Ms(50));
  }
  INFO("last /admin/windows: " << (last ? last->raw() : "none"));
  FAIL("the gateway's window never showed " << orders << " orders persisted");
  return *last;
}

}  // namespace

TEST_CASE(
    "ordergatectl checkpoint --window 1h --json over a load with retries, conflicts and a kill -9 "
    "restart matches what the clients counted, with no duplicate send and percentiles no higher "
    "than the clients'",
    "[e2e][checkpoint]") {
  World w;
  w.Start();
  ClientCounts counts;
  std::vector<std::string> uuids;
  const std::string prefix = UniqueId("ckpt");

  Load(w, prefix + "-a", 120, &counts, &uuids);
  REQUIRE(counts.other == 0);
  WaitForWindow(w, counts.accepted.size());

  w.KillGateway();  // kill -9: the windows must come back from the store
  w.StartGatewayLinked({});

  // Retries of orders the first run settled: answered from the store, sent nowhere.
  {
    DealerClient c(w.ctx, w.gw_endpoint);
    std::vector<std::pair<std::string, std::string>> replays;
    for (size_t i = 0; i < uuids.size(); i += 7) replays.emplace_back(uuids[i], OpenBody(uuids[i]));
    Exchange(c, replays, &counts);
  }
  Load(w, prefix + "-b", 130, &counts, &uuids);
  REQUIRE(counts.other == 0);
  const Json window = WaitForWindow(w, counts.accepted.size());
  INFO("window: " << window.raw());

  const CtlRun run = Ctl(w, {"checkpoint", "--window", "1h", "--json"});
  REQUIRE(run.exit_code == 0);
  auto report = Json::Parse(run.out);
  REQUIRE(report);
  INFO("checkpoint: " << report->raw());
  CHECK(report->Int("window_s") == 3600);
  CHECK(report->Int("orders") == static_cast<int64_t>(counts.accepted.size()));
  CHECK(report->Int("orders") == 250);
  CHECK(report->Int("filled") == static_cast<int64_t>(counts.filled.size()));
  CHECK(report->Int("rejected") == static_cast<int64_t>(counts.rejected.size()));
  CHECK(report->Int("unknown") == static_cast<int64_t>(counts.unknown.size()));
  CHECK(report->Int("duplicate_requests") == static_cast<int64_t>(counts.duplicate_replies));
  CHECK(report->Int("conflicts") == static_cast<int64_t>(counts.conflicts));
  CHECK(counts.duplicate_replies > 50);
  CHECK(counts.conflicts == 25);
  CHECK(report->Int("duplicate_sends") == 0);
  const double expected_success =
      static_cast<double>(counts.filled.size()) / static_cast<double>(counts.accepted.size());
  CHECK(report->Num("success_rate").value_or(-1) == Approx(expected_success));
  // Gateway-side (arrival -> reply) against the clients' send -> reply of the same orders.
  CHECK(report->Num("latency_ms.p50").value_or(1e9) <= Quantile(counts.filled_ms, 0.5));
  CHECK(report->Num("latency_ms.p99").value_or(1e9) <= Quantile(counts.filled_ms, 0.99));
  CHECK(report->Num("latency_ms.max").value_or(1e9) <= Quantile(counts.filled_ms, 1.0));
  CHECK(report->Num("latency_ms.p999").has_value());
  CHECK(report->Num("throughput_per_s.mean").value_or(0) > 0);
  CHECK(report->Num("throughput_per_s.peak_1m").value_or(0) > 0);
  CHECK(report->Num("cpu_percent").has_value());
  CHECK(report->Int("rss_bytes").value_or(0) > 0);
  CHECK(report->Num("disk_used_percent").has_value());
  CHECK(report->Int("store_bytes").value_or(0) > 0);
  CHECK(report->Has("checks"));
  CHECK(report->S("verdict") == (counts.rejected.empty() ? "PASS" : "FAIL"));

  // The bridge saw each uuid once: the simulator's own journal.
  const Journal journal = ReadJournal(w.journal());
  CHECK(journal.Duplicates().empty());
  CHECK(journal.entries.size() == counts.filled.size());

  // The Markdown report: every figure with its target and the verdict.
  const CtlRun md = Ctl(w, {"checkpoint", "--window", "1h"});
  CHECK(md.exit_code == 0);
  CHECK(md.out.find("Verdict: ") != std::string::npos);
  CHECK(md.out.find("| Duplicate sends") != std::string::npos);
  CHECK(md.out.find("< 5000 ms") != std::string::npos);
}

TEST_CASE("ordergatectl checkpoint --slo tightens a target to a FAIL, and status shows one screen",
          "[e2e][checkpoint]") {
  World w;
  w.Start();
  ClientCounts counts;
  std::vector<std::string> uuids;
  Load(w, UniqueId("slo"), 20, &counts, &uuids);
  WaitForWindow(w, counts.accepted.size());

  const std::string slo = w.dir.File("slo.json");
  {
    std::FILE* f = std::fopen(slo.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("{\"p99_ms_max\": 0.000001}\n", f);
    std::fclose(f);
  }
  const CtlRun run = Ctl(w, {"checkpoint", "--window", "4h", "--slo", slo, "--json"});
  REQUIRE(run.exit_code == 0);
  auto report = Json::Parse(run.out);
  REQUIRE(report);
  INFO(report->raw());
  CHECK(report->Int("window_s") == 4 * 3600);
  CHECK(report->Int("orders") == 20);
  CHECK(report->S("verdict") == "FAIL");

  const CtlRun bad = Ctl(w, {"checkpoint", "--window", "2d"});
  CHECK(bad.exit_code == 1);

  const CtlRun status = Ctl(w, {"status"});
  REQUIRE(status.exit_code == 0);
  INFO(status.out);
  CHECK(status.out.find("ready") != std::string::npos);
  CHECK(status.out.find("bridge    up") != std::string::npos);
  CHECK(status.out.find("UNKNOWN   0") != std::string::npos);
  CHECK(status.out.find("20 orders") != std::string::npos);
}
