// Strategy code of every kind ordergate serves (issue 14), against a real ordergated and simulator:
// MT5-CRS's JSON v1 envelope (docs/protocol.md section 2a) written as its json_trade_client.py
// writes it; and all four kinds at once on one gateway — the MT5-CRS bridge-protocol script, the
// v1 script, the C++ client's example and the Python client's example. (The bridge-protocol
// strategy alone is e2e_basic_test.cc's.)

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;  // NOLINT(google-build-using-namespace): the e2e helpers throughout

TEST_CASE(
    "A strategy written for MT5-CRS's JSON v1 envelope trades through ordergate unchanged: each "
    "req_id executes once, a retried req_id replays its ticket, and the error rows carry their "
    "retcodes",
    "[e2e][clients]") {
  if (!HavePythonZmq()) {
    WARN("python3-zmq is not installed: scripts/install-deps.sh installs it");
    SUCCEED();
    return;
  }
  World w;
  w.Start({"--latency", "lognormal:1:10"}, {});
  Process strategy(
      "/usr/bin/python3",
      {std::string(ORDERGATE_E2E_CLIENTS_DIR) + "/mt5crs_json_strategy.py", w.gw_endpoint, "20"},
      w.dir.File("strategy.err"));
  const auto line = strategy.WaitForLine("{", Ms(60000));
  const auto status = strategy.Wait(Ms(10000));
  INFO("strategy stderr: " << strategy.Stderr());
  REQUIRE(status);
  CHECK(Process::Decode(*status) == 0);
  REQUIRE(line);
  auto summary = Json::Parse(*line);
  REQUIRE(summary);
  CHECK(summary->Int("filled") == 20);
  CHECK(summary->Int("retried_same_ticket") == 20);
  CHECK(summary->Bool("conflict_error") == true);
  CHECK(summary->Int("conflict_ticket") == 0);
  CHECK(summary->Int("conflict_retcode") == -4);
  CHECK(summary->Bool("conflict_msg_names_code") == true);
  CHECK(summary->Bool("volume_error") == true);
  CHECK(summary->Int("volume_retcode") == -3);
  CHECK(summary->Bool("missing_payload_error") == true);
  CHECK(summary->Int("missing_payload_retcode") == -2);
  const Journal j = RequireAtMostOnce(w);
  const std::vector<std::string> ids = absl::StrSplit(summary->S("req_ids"), ',');
  REQUIRE(ids.size() == 20);
  for (const std::string& id : ids) CHECK(j.Count(id) == 1);
  // The conflict, the bad volume and the missing payload sent nothing.
  CHECK(j.entries.size() == 20);
}

TEST_CASE(
    "Both MT5-CRS strategy styles and both ordergate clients run unchanged against one ordergated "
    "at "
    "once, with their retries on, and the simulator's journal shows every uuid and req_id executed "
    "once",
    "[e2e][clients]") {
  if (!HavePythonZmq()) {
    WARN("python3-zmq is not installed: scripts/install-deps.sh installs it");
    SUCCEED();
    return;
  }
  World w;
  w.Start({"--latency", "lognormal:2:20"}, {});
  const std::string bridge_prefix = UniqueId("mt5crs");
  const std::string cpp_prefix = UniqueId("cpp");
  const std::string clients = ORDERGATE_E2E_CLIENTS_DIR;
  // All four at once: their orders interleave at the gateway and at the bridge.
  Process bridge_style("/usr/bin/python3",
                       {clients + "/mt5crs_strategy.py", w.gw_endpoint, bridge_prefix, "20"},
                       w.dir.File("bridge_style.err"));
  Process v1_style("/usr/bin/python3", {clients + "/mt5crs_json_strategy.py", w.gw_endpoint, "20"},
                   w.dir.File("v1_style.err"));
  Process cpp_client(BinDir() + "/cpp_client_strategy",
                     {"--gateway", w.gw_endpoint, "--orders", "20", "--prefix", cpp_prefix},
                     w.dir.File("cpp_client.err"));
  Process py_client("/usr/bin/python3",
                    {std::string(ORDERGATE_EXAMPLES_DIR) + "/python_client_strategy.py",
                     "--endpoint", w.gw_endpoint, "--orders", "20"},
                    w.dir.File("py_client.err"));

  const auto bridge_line = bridge_style.WaitForLine("{", Ms(90000));
  const auto v1_line = v1_style.WaitForLine("{", Ms(90000));
  const auto py_line = py_client.WaitForLine("{\"opened\"", Ms(90000));
  for (Process* p : {&bridge_style, &v1_style, &cpp_client, &py_client}) {
    const auto status = p->Wait(Ms(90000));
    INFO("stderr: " << p->Stderr());
    REQUIRE(status);
    CHECK(Process::Decode(*status) == 0);
  }
  const Journal j = RequireAtMostOnce(w);  // no uuid or req_id executed twice

  REQUIRE(bridge_line);
  auto bridge_summary = Json::Parse(*bridge_line);
  REQUIRE(bridge_summary);
  CHECK(bridge_summary->Int("filled") == 20);
  CHECK(bridge_summary->Int("resent_same_ticket") == 20);
  for (int i = 0; i < 20; ++i) CHECK(j.Count(bridge_prefix + "-" + std::to_string(i)) == 1);

  REQUIRE(v1_line);
  auto v1_summary = Json::Parse(*v1_line);
  REQUIRE(v1_summary);
  CHECK(v1_summary->Int("retried_same_ticket") == 20);
  const std::vector<std::string> req_ids = absl::StrSplit(v1_summary->S("req_ids"), ',');
  REQUIRE(req_ids.size() == 20);
  for (const std::string& id : req_ids) CHECK(j.Count(id) == 1);

  for (int i = 0; i < 20; ++i) CHECK(j.Count(cpp_prefix + "-" + std::to_string(i)) == 1);

  REQUIRE(py_line);
  auto py_summary = Json::Parse(*py_line);
  REQUIRE(py_summary);
  CHECK(py_summary->Int("opened") == 20);
  CHECK(py_summary->Int("closed") == 20);
  size_t py_uuids = 0;
  simdjson::dom::array uuids;
  if (auto e = py_summary->Get("uuids"); e && e->get(uuids) == simdjson::SUCCESS) {
    for (simdjson::dom::element u_el : uuids) {
      std::string_view u;
      if (u_el.get(u) == simdjson::SUCCESS) {
        ++py_uuids;
        CHECK(j.Count(std::string(u)) == 1);
      }
    }
  }
  CHECK(py_uuids == 40);  // 20 opens and their 20 closes
  // Everything the four sent, and nothing else: 20 + 20 + 20 + 40 executions.
  CHECK(j.entries.size() == 100);
}
