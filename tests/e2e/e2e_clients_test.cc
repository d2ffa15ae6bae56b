// Strategy code of the kinds ordergate must serve unchanged (issue 14): MT5-CRS's JSON v1 envelope
// (docs/protocol.md section 2a), written as its json_trade_client.py writes it, against a real
// ordergated and simulator. (The bridge-protocol strategy is e2e_basic_test.cc's.)
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;  // NOLINT(google-build-using-namespace): the e2e helpers throughout

namespace {

bool HavePythonZmq() {
  return access("/usr/bin/python3", X_OK) == 0 &&
         std::system("/usr/bin/python3 -c 'import zmq' 2>/dev/null") == 0;
}

}  // namespace

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
