// End to end, start-up messages of a real ordergated (issue 10, item 4): a second gateway on the
// data directory of a running one names it as in use by another ordergated and that one's pid; a
// start that fails after the store opened (its front-end or metrics address is taken) leaves no
// data directory it created behind, and never removes one that existed; the first gateway keeps
// serving throughout.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

namespace fs = std::filesystem;

// Starts ordergated with `args` (plus a quiet log level), REQUIREs it exits before printing its
// ready line, and returns {exit code, stderr}.
std::pair<int, std::string> FailedStart(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.end(), {"--log-level", "warn"});
  Process gw(BinDir() + "/ordergated", args, dir.File("failed.stderr"));
  auto st = gw.Wait(Ms(15000));
  INFO("ordergated stderr:\n" << gw.Stderr());
  REQUIRE(st.has_value());
  CheckNeverReady(gw);
  return {Process::Decode(*st), gw.Stderr()};
}

// The running gateway of `w` still fills an order end to end.
void CheckStillServing(World& w, const std::string& uuid) {
  ReqClient c(w.ctx, w.gw_endpoint);
  auto reply = c.CallJson(OpenBody(uuid));
  REQUIRE(reply.has_value());
  INFO(reply->raw());
  CHECK(reply->S("status") == "FILLED");
  const auto m = HttpGet(w.metrics_port, "/readyz");
  CHECK(m.first == 200);
}

}  // namespace

TEST_CASE(
    "a second ordergated on the data directory of a running one exits non-zero naming the "
    "directory as in use by another ordergated with its pid, and the first keeps serving",
    "[e2e]") {
  World w;
  w.Start();
  CheckStillServing(w, UniqueId("before"));
  TempDir other;
  const auto [code, err] =
      FailedStart(other, {"--listen", "tcp://127.0.0.1:*", "--bridge", w.sim_endpoint, "--data-dir",
                          w.data_dir(), "--metrics-listen", "127.0.0.1:0"});
  CHECK(code != 0);
  // Before the fix: "IO error: While lock file: .../LOCK: Resource temporarily unavailable".
  CHECK(err.find("data directory " + w.data_dir() + " is in use by another ordergated (pid " +
                 std::to_string(w.gw->pid()) + ")") != std::string::npos);
  CHECK(fs::exists(w.data_dir() + "/CURRENT"));
  CheckStillServing(w, UniqueId("after"));
}

TEST_CASE(
    "a start that fails because its listen address is taken leaves no data directory behind, "
    "nor the parent directory it created, and the running gateway keeps serving",
    "[e2e]") {
  World w;
  w.Start();
  TempDir other;
  const std::string top = other.File("new");
  const std::string data = top + "/data";
  const auto [code, err] =
      FailedStart(other, {"--listen", w.gw_endpoint, "--bridge", w.sim_endpoint, "--data-dir", data,
                          "--metrics-listen", "127.0.0.1:0"});
  CHECK(code == 1);
  CHECK(err.find("cannot listen on " + w.gw_endpoint) != std::string::npos);
  CHECK_FALSE(fs::exists(data));  // before the fix: an empty store was left in it
  CHECK_FALSE(fs::exists(top));
  CHECK(fs::exists(other.path()));
  CheckStillServing(w, UniqueId("listen"));
}

TEST_CASE(
    "a start that fails because its metrics address is taken, after the gateway started, leaves "
    "no data directory behind",
    "[e2e]") {
  World w;
  w.Start();
  REQUIRE(w.metrics_port > 0);
  TempDir other;
  const std::string data = other.File("data");
  const auto [code, err] =
      FailedStart(other, {"--listen", "tcp://127.0.0.1:*", "--bridge", w.sim_endpoint, "--data-dir",
                          data, "--metrics-listen", "127.0.0.1:" + std::to_string(w.metrics_port)});
  CHECK(code == 1);
  CHECK(err.find("refusing to start") != std::string::npos);
  CHECK_FALSE(fs::exists(data));
  CheckStillServing(w, UniqueId("metrics"));
}

TEST_CASE("a failed start on a data directory that existed leaves it and everything in it in place",
          "[e2e]") {
  World w;
  w.Start();
  TempDir other;
  const std::string data = other.File("data");
  fs::create_directories(data);
  { std::ofstream(data + "/operator-notes.txt") << "mine"; }
  const auto [code, err] =
      FailedStart(other, {"--listen", w.gw_endpoint, "--bridge", w.sim_endpoint, "--data-dir", data,
                          "--metrics-listen", "127.0.0.1:0"});
  CHECK(code == 1);
  CHECK(fs::exists(data + "/operator-notes.txt"));
  CHECK(fs::exists(data + "/CURRENT"));  // the store it created there is kept too
}
