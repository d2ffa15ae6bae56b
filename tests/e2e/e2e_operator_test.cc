// End to end, what an operator sees of a real ordergated (issue 10, items 3 and 4): a bridge that
// is down is not ready (/readyz 503 saying so, a log line per link transition with how long the
// previous state lasted, a gauge of the time since the bridge's last reply), --version and the
// build-info metric, --help naming every HTTP path, and one log format for ordergated and
// ordergate-bridge-sim.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

// The one log line format of ordergate's programs (transport/log_format.h): UTC time to the
// microsecond with a Z, the level, the component in brackets, the message.
bool IsLogLine(const std::string& line, const std::string& component) {
  static const std::regex kLine(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z (trace|debug|info|warning|error|critical) \[([^\]]+)\] .+$)");
  std::smatch m;
  return std::regex_match(line, m, kLine) && m[2] == component;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The seconds in the first stderr line of `p` matching `pattern` (one capture group: the seconds),
// waiting up to `timeout`; nullopt if no such line came.
std::optional<double> WaitForLogSeconds(Process& p, const std::regex& pattern, Ms timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (const std::string& line : Lines(p.Stderr())) {
      std::smatch m;
      if (std::regex_search(line, m, pattern)) return std::stod(m[1]);
    }
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(Ms(50));
  }
}

// The "bridge_last_reply_age_seconds" of a /readyz body, -1 when null.
double ReadyAge(const Json& body) {
  if (auto age = body.Num("bridge_last_reply_age_seconds")) return *age;
  REQUIRE(body.raw().find("\"bridge_last_reply_age_seconds\":null") != std::string::npos);
  return -1;
}

// Waits until /readyz answers `status`; returns its body.
std::optional<Json> WaitReady(int port, int status, Ms timeout = Ms(15000)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto [code, body] = HttpGet(port, "/readyz");
    if (code == status) return Json::Parse(body);
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(Ms(50));
  }
}

}  // namespace

TEST_CASE(
    "With the bridge address on a closed port ordergated starts with bridge=down and /readyz 503 "
    "naming the bridge; a simulator started there makes it 200, each link transition is logged "
    "with how long the previous state lasted, and the reply-age gauge moves",
    "[e2e]") {
  World w;
  const std::string bridge = "tcp://127.0.0.1:" + std::to_string(FreePort());
  w.StartGateway({"--log-level", "info"}, bridge);
  REQUIRE(w.metrics_port > 0);
  const auto ready_line = w.gw->WaitForLine("ordergated ready ", Ms(1000));
  REQUIRE(ready_line.has_value());
  CHECK_THAT(*ready_line, Catch::EndsWith(" bridge=down"));

  // Down: not ready, and the body says why; the bridge never answered.
  {
    const auto [code, body] = HttpGet(w.metrics_port, "/readyz");
    INFO("/readyz: " << body);
    CHECK(code == 503);
    auto j = Json::Parse(body);
    REQUIRE(j.has_value());
    CHECK(j->Bool("ready") == false);
    CHECK(j->Bool("serving") == true);
    CHECK(j->S("bridge") == "down");
    CHECK_THAT(j->S("reason"), Catch::Contains("bridge down") && Catch::Contains("BRIDGE_DOWN"));
    CHECK(ReadyAge(*j) == -1);
    const auto metrics = HttpGet(w.metrics_port, "/metrics").second;
    INFO(metrics);
    CHECK(MetricValue(metrics, "ordergate_bridge_up") == 0);
    CHECK(std::isnan(MetricValue(metrics, "ordergate_bridge_last_reply_age_seconds")));
  }
  CHECK_THAT(w.gw->Stderr(), Catch::Contains("bridge " + bridge + " not connected"));

  // Up: the simulator binds the address the gateway keeps dialling.
  w.StartSim({"--log-level", "info"}, bridge);
  const auto up_body = WaitReady(w.metrics_port, 200);
  REQUIRE(up_body.has_value());
  INFO("/readyz once up: " << up_body->raw());
  CHECK(up_body->Bool("ready") == true);
  CHECK(up_body->S("bridge") == "up");
  CHECK_FALSE(up_body->Has("reason"));
  // Down since the gateway started, which was at least the ready line's 1 s wait before the
  // simulator even existed.
  const auto down_for = WaitForLogSeconds(
      *w.gw,
      std::regex(
          R"(info \[ordergated\] bridge link up \(tcp://127\.0\.0\.1:\d+\) after ([0-9.]+) s down)"),
      Ms(5000));
  INFO("ordergated stderr:\n" << w.gw->Stderr());
  REQUIRE(down_for.has_value());
  CHECK(*down_for >= 1.0);

  // The age gauge: a number once the bridge has answered, growing while it is silent.
  ReqClient c(w.ctx, w.gw_endpoint);
  auto filled = c.CallJson(OpenBody(UniqueId("op")));
  REQUIRE(filled);
  CHECK(filled->S("status") == "FILLED");
  const double age1 = MetricValue(HttpGet(w.metrics_port, "/metrics").second,
                                  "ordergate_bridge_last_reply_age_seconds");
  CHECK(age1 >= 0);
  CHECK(age1 < 5);
  std::this_thread::sleep_for(Ms(700));
  const double age2 = MetricValue(HttpGet(w.metrics_port, "/metrics").second,
                                  "ordergate_bridge_last_reply_age_seconds");
  CHECK(age2 >= age1 + 0.5);

  // Down again: the simulator dies; the gateway logs it with how long the link was up, and
  // /readyz says since when the bridge has been silent.
  w.sim->Signal(SIGKILL);
  (void)w.sim->Wait(Ms(5000));
  const auto down_body = WaitReady(w.metrics_port, 503);
  REQUIRE(down_body.has_value());
  INFO("/readyz once down again: " << down_body->raw());
  CHECK(down_body->S("bridge") == "down");
  CHECK(ReadyAge(*down_body) >= age2);
  const auto up_for = WaitForLogSeconds(
      *w.gw,
      std::regex(
          R"(warning \[ordergated\] bridge link DOWN \(tcp://127\.0\.0\.1:\d+\) after ([0-9.]+) s up)"),
      Ms(5000));
  REQUIRE(up_for.has_value());
  CHECK(*up_for >= 0.7);

  // One log format: every stderr line of ordergated is a log line (read once it has exited, so
  // that no line is read half written), and so is every line of the simulator's but its
  // unconditional "ordergate-bridge-sim: seed=..." and stats lines.
  CHECK(w.StopGateway(SIGTERM) == 0);
  for (const std::string& line : Lines(w.gw->Stderr())) {
    INFO(line);
    CHECK(IsLogLine(line, "ordergated"));
  }
  size_t sim_log_lines = 0;
  for (const std::string& line : Lines(w.sim->Stderr())) {
    if (line.rfind("ordergate-bridge-sim: ", 0) == 0) continue;
    INFO(line);
    CHECK(IsLogLine(line, "ordergate-bridge-sim"));
    ++sim_log_lines;
  }
  CHECK(sim_log_lines >= 1);
}

TEST_CASE(
    "ordergated --version prints its version and git commit and exits 0, a running ordergated "
    "exports the same as ordergate_build_info, and --help names every HTTP path",
    "[e2e]") {
  TempDir dir;
  std::string version_line;
  {
    Process p(BinDir() + "/ordergated", {"--version"}, dir.File("version.stderr"));
    const auto line = p.WaitForLine("ordergated ", Ms(10000));
    REQUIRE(line.has_value());
    version_line = *line;
    const auto st = p.Wait(Ms(10000));
    REQUIRE(st.has_value());
    CHECK(Process::Decode(*st) == 0);
  }
  static const std::regex kVersion(
      R"(^ordergated (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(-dirty)?|unknown|[0-9A-Za-z._+-]+)\)$)");
  std::smatch m;
  INFO("--version: " << version_line);
  REQUIRE(std::regex_match(version_line, m, kVersion));
  const std::string version = m[1];
  const std::string commit = m[2];

  {
    Process p(BinDir() + "/ordergated", {"--help"}, dir.File("help.stderr"));
    const auto st = p.Wait(Ms(10000));
    REQUIRE(st.has_value());
    CHECK(Process::Decode(*st) == 0);
    std::string help;
    for (const std::string& line : p.StdoutLines()) help += line + "\n";
    for (const char* path : {"/healthz", "/readyz", "/metrics", "/latency"}) {
      INFO(path);
      CHECK(help.find(std::string("\n  ") + path + " ") != std::string::npos);
    }
    CHECK(help.find("--version") != std::string::npos);
  }

  World w;
  w.Start();
  const auto metrics = HttpGet(w.metrics_port, "/metrics").second;
  INFO(metrics);
  CHECK_THAT(metrics, Catch::Contains("\nordergate_build_info{version=\"" + version +
                                      "\",commit=\"" + commit + "\"} 1\n"));
  CHECK_THAT(w.gw->WaitForLine("ordergated ready ", Ms(1000)).value_or(""),
             Catch::EndsWith(" bridge=up"));
}
