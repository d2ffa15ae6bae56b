// End to end, an operator settles an UNKNOWN order (issue 11): against a simulator started with
// --no-order-status, as the real MT5-CRS bridge (no ORDER_STATUS), so nothing but the operator can
// settle it. Real ordergated, ordergate-bridge-sim and ordergatectl processes.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

// Aligned short timeouts (500 > 300 + 100): an unanswered order is UNKNOWN after half a second.
// Info logs, for the resolution's log line.
const std::vector<std::string> kGatewayArgs = {"--bridge-signature-ttl-ms",
                                               "300",
                                               "--bridge-exec-margin-ms",
                                               "100",
                                               "--bridge-timeout-ms",
                                               "500",
                                               "--client-timeout-ms",
                                               "2000",
                                               "--unknown-query-interval-ms",
                                               "200",
                                               "--log-level",
                                               "info"};

// The real bridge: executes and journals every order but never answers it, and has no
// ORDER_STATUS.
const std::vector<std::string> kSilentBridge = {"--fault-no-reply", "1", "--signature-ttl-ms",
                                                "300", "--no-order-status"};

// Sends an OPEN of `uuid` and REQUIREs the UNKNOWN reply; then waits for the simulator's journal
// to show its one execution and returns its ticket.
int64_t MakeUnknown(World& w, ReqClient& c, const std::string& uuid) {
  auto first = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(first);
  INFO("first reply: " << first->raw());
  REQUIRE(first->S("status") == "UNKNOWN");
  REQUIRE(first->S("error_code") == "BRIDGE_TIMEOUT");
  std::optional<int64_t> ticket;
  for (int i = 0; i < 200 && !ticket; ++i) {
    ticket = ReadJournal(w.journal()).Ticket(uuid);
    if (!ticket) std::this_thread::sleep_for(Ms(25));
  }
  REQUIRE(ticket.has_value());
  return *ticket;
}

// A client's retry of `uuid`: REQUIREs the replay of what the operator recorded.
Json RequireReplay(World& w, const std::string& uuid, const std::string& status) {
  ReqClient c(w.ctx, w.gw_endpoint);
  auto again = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(again);
  INFO("retry after the resolution: " << again->raw());
  CHECK(again->S("status") == status);
  CHECK(again->Bool("duplicate") == true);
  CHECK(again->S("resolved_by") == "operator");
  CHECK(again->S("uuid") == uuid);
  return *again;
}

std::string WriteTokenFile(World& w, const std::string& name, const std::string& token,
                           mode_t mode) {
  const std::string path = w.dir.File(name);
  std::ofstream(path) << token << "\n";
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path;
}

}  // namespace

TEST_CASE(
    "An UNKNOWN order at a bridge without ORDER_STATUS is listed by ordergatectl orders, resolved "
    "FILLED by ordergatectl resolve, replayed to a client's retry with duplicate:true, never sent "
    "to the bridge twice, and still resolved after a kill -9 and restart",
    "[e2e]") {
  World w;
  w.StartSim(kSilentBridge);
  w.StartGatewayLinked(kGatewayArgs);
  ReqClient c(w.ctx, w.gw_endpoint);
  const std::string uuid = UniqueId("opres");
  const int64_t ticket = MakeUnknown(w, c, uuid);

  // Listed, for a person and as JSON.
  const CtlRun listed = Ctl(w, {"orders", "--state", "unknown"});
  INFO("orders: " << listed.out << listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.find(uuid) != std::string::npos);
  CHECK(listed.out.find("UNKNOWN") != std::string::npos);
  const CtlRun listed_json = Ctl(w, {"orders", "--state", "unknown", "--json"});
  REQUIRE(listed_json.exit_code == 0);
  auto doc = Json::Parse(listed_json.out);
  REQUIRE(doc);
  CHECK(doc->S("state") == "UNKNOWN");
  CHECK(doc->Int("count") == 1);
  CHECK(doc->raw().find("\"uuid\":\"" + uuid + "\"") != std::string::npos);

  // Resolved by the operator, with the ticket MT5 shows.
  const CtlRun resolved = Ctl(w, {"resolve", uuid, "--filled", std::to_string(ticket), "--price",
                                  "1.2345", "--operator", "e2e-operator"});
  INFO("resolve: " << resolved.out << resolved.err);
  REQUIRE(resolved.exit_code == 0);
  CHECK(resolved.out.find("UNKNOWN -> FILLED") != std::string::npos);

  // A client's retry gets the operator's outcome; so does ORDER_STATUS; nothing reached the bridge
  // again.
  const Json replay = RequireReplay(w, uuid, "FILLED");
  CHECK(replay.Int("ticket") == ticket);
  CHECK(replay.Num("price") == 1.2345);
  CHECK(replay.S("operator") == "e2e-operator");
  auto status = c.CallJson(StatusBody(uuid));
  REQUIRE(status);
  CHECK(status->S("status") == "FILLED");
  CHECK(status->Int("ticket") == ticket);
  CHECK(RequireAtMostOnce(w).Count(uuid) == 1);
  CHECK(Ctl(w, {"orders", "--state", "unknown"}).out.find("no UNKNOWN orders") !=
        std::string::npos);
  auto admin = HttpGet(w.metrics_port, "/admin/status");
  REQUIRE(admin.first == 200);
  auto admin_doc = Json::Parse(admin.second);
  REQUIRE(admin_doc);
  CHECK(admin_doc->Int("counters.unknown_resolved") == 1);
  CHECK(admin_doc->Int("unknown") == 0);

  // Logged at info with who (the name given and how the endpoint admitted the call), what, when.
  const std::string log = w.gw->Stderr();
  INFO("ordergated stderr:\n" << log);
  const std::string what = "order " + uuid + " resolved UNKNOWN -> FILLED ticket " +
                           std::to_string(ticket) +
                           " price 1.2345 by operator \"e2e-operator\" "
                           "(loopback 127.0.0.1:";
  CHECK(log.find(what) != std::string::npos);

  // The resolution was durable before ordergatectl exited 0: it survives kill -9.
  w.KillGateway();
  w.StartGatewayLinked(kGatewayArgs);
  const Json after_restart = RequireReplay(w, uuid, "FILLED");
  CHECK(after_restart.Int("ticket") == ticket);
  CHECK(RequireAtMostOnce(w).Count(uuid) == 1);
  CHECK(Ctl(w, {"orders", "--state", "unknown"}).out.find("no UNKNOWN orders") !=
        std::string::npos);
}

TEST_CASE(
    "ordergatectl resolve of a FILLED order or of a uuid the store never saw exits 1 with the "
    "reason and changes nothing",
    "[e2e]") {
  World w;
  w.Start({}, kGatewayArgs);
  ReqClient c(w.ctx, w.gw_endpoint);
  const std::string uuid = UniqueId("opfilled");
  auto filled = c.CallJson(OpenBody(uuid));
  REQUIRE(filled);
  REQUIRE(filled->S("status") == "FILLED");

  const CtlRun on_filled = Ctl(w, {"resolve", uuid, "--rejected", "operator mistake"});
  INFO("resolve of a FILLED order: " << on_filled.out << on_filled.err);
  CHECK(on_filled.exit_code == 1);
  CHECK(on_filled.err.find("HTTP 409") != std::string::npos);
  CHECK(on_filled.err.find("order " + uuid +
                           " is FILLED: only an UNKNOWN order can be resolved; "
                           "nothing changed") != std::string::npos);
  auto again = c.CallJson(OpenBody(uuid));
  REQUIRE(again);
  CHECK(again->S("status") == "FILLED");
  CHECK(again->Int("ticket") == filled->Int("ticket"));
  CHECK_FALSE(again->Has("resolved_by"));

  const std::string never = UniqueId("opnever");
  const CtlRun on_absent = Ctl(w, {"resolve", never, "--filled", "77"});
  INFO("resolve of an unknown uuid: " << on_absent.out << on_absent.err);
  CHECK(on_absent.exit_code == 1);
  CHECK(on_absent.err.find("HTTP 404") != std::string::npos);
  CHECK(on_absent.err.find("no order " + never + " in the store") != std::string::npos);
  auto status = c.CallJson(StatusBody(never));
  REQUIRE(status);
  CHECK(status->S("error_code") == "NOT_FOUND");

  // A bad command line never reaches the gateway.
  CHECK(Ctl(w, {"resolve", uuid}).exit_code == 2);
  CHECK(Ctl(w, {"resolve", uuid, "--filled", "5", "--rejected", "x"}).exit_code == 2);
  CHECK(Ctl(w, {"resolve", uuid, "--filled", "0"}).exit_code == 2);
}

TEST_CASE(
    "With an admin_token_file a resolve carrying a wrong token is refused even from loopback, the "
    "right token resolves REJECTED, and ordergated refuses to start on a token file that is not "
    "mode 0600",
    "[e2e]") {
  World w;
  const std::string token = "e2e-token-0123456789abcdef";
  const std::string token_file = WriteTokenFile(w, "admin.token", token, 0600);
  const std::string wrong_file = WriteTokenFile(w, "wrong.token", "not-the-token-0123456", 0600);
  std::vector<std::string> args = kGatewayArgs;
  args.insert(args.end(), {"--admin-token-file", token_file});
  w.StartSim(kSilentBridge);
  w.StartGatewayLinked(args);
  ReqClient c(w.ctx, w.gw_endpoint);
  const std::string uuid = UniqueId("optoken");
  (void)MakeUnknown(w, c, uuid);

  const CtlRun wrong =
      Ctl(w, {"--token-file", wrong_file, "resolve", uuid, "--rejected", "not in MT5 history"});
  INFO("with a wrong token: " << wrong.out << wrong.err);
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("HTTP 403") != std::string::npos);
  CHECK(wrong.err.find("the token does not match") != std::string::npos);
  CHECK(Ctl(w, {"orders", "--state", "unknown"}).out.find(uuid) != std::string::npos);

  const CtlRun right =
      Ctl(w, {"--token-file", token_file, "resolve", uuid, "--rejected", "not in MT5 history"});
  INFO("with the token: " << right.out << right.err);
  REQUIRE(right.exit_code == 0);
  const Json replay = RequireReplay(w, uuid, "REJECTED");
  CHECK(replay.S("error_code") == "OPERATOR_REJECTED");
  CHECK(replay.S("error_msg") == "not in MT5 history");
  CHECK(w.gw->Stderr().find("(token from 127.0.0.1:") != std::string::npos);
  CHECK(RequireAtMostOnce(w).Count(uuid) == 1);

  // A token file others may read: refused before the store is opened (no data directory made).
  const std::string loose = WriteTokenFile(w, "loose.token", token, 0644);
  const std::string other_data = w.dir.File("data-loose");
  Process refused(BinDir() + "/ordergated",
                  {"--listen", "tcp://127.0.0.1:*", "--bridge", w.sim_endpoint, "--data-dir",
                   other_data, "--metrics-listen", "127.0.0.1:0", "--admin-token-file", loose},
                  w.dir.File("loose.stderr"));
  const auto st = refused.Wait(Ms(20000));
  REQUIRE(st.has_value());
  INFO("ordergated stderr: " << refused.Stderr());
  CHECK(Process::Decode(*st) == 1);
  CHECK(refused.Stderr().find("admin_token_file " + loose + " has mode 0644: it must be 0600") !=
        std::string::npos);
  CHECK(refused.StdoutLines().empty());
  struct stat data_st {};
  CHECK(::stat(other_data.c_str(), &data_st) != 0);
}
