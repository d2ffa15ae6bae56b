// End to end, CurveZMQ on a real ordergated (issue 15): keys made by `ordergatectl keygen`, an
// allowlisted ordergate::Client trades, an unknown key, a client without a key and a plain TCP
// connection get nothing and are counted in /metrics and the log; and the start-up refusals (a
// secret certificate others can read, an allowlist with two clients of one name, a listen beyond
// loopback without CURVE) and the --insecure-remote warning.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "e2e_checks.h"
#include "e2e_curve_keys.h"
#include "e2e_util.h"
#include "ordergate/client.h"

using namespace e2e;

namespace {

namespace fs = std::filesystem;

const std::string kUnknownKey = "ordergate_front_auth_refused_total{reason=\"unknown_key\"}";
const std::string kHandshake = "ordergate_front_auth_refused_total{reason=\"handshake\"}";

// Starts ordergated with `args`, REQUIREs it exits before its ready line; {exit code, stderr}.
std::pair<int, std::string> FailedStart(const TempDir& dir, std::vector<std::string> args) {
  Process gw(BinDir() + "/ordergated", args, dir.File("failed.stderr"));
  auto st = gw.Wait(Ms(15000));
  INFO("ordergated stderr:\n" << gw.Stderr());
  REQUIRE(st.has_value());
  CheckNeverReady(gw);
  return {Process::Decode(*st), gw.Stderr()};
}

}  // namespace

TEST_CASE(
    "Over CURVE an allowlisted C++ client trades, while an unknown key, a client without a key "
    "and a plain TCP connection get nothing and are counted in /metrics and the log",
    "[e2e][curve]") {
  World w;
  CurveKeys keys(w.dir);
  keys.AddClient("strategy-a", true);
  keys.AddClient("stranger", false);
  StartCurveGateway(w, keys);
  CHECK(w.gw->Stderr().find("CURVE on: gateway public key " + keys.gateway_public) !=
        std::string::npos);
  CHECK(w.gw->Stderr().find("1 client(s) allowlisted") != std::string::npos);

  // The server key as the gateway's public certificate, then as Z85 text.
  auto a = ConnectCurve(w, keys.public_cert(), keys.client_secret("strategy-a"));
  const ordergate::Outcome filled = a->SubmitAndWait(Buy());
  INFO(filled.reply_json);
  CHECK(filled.status == ordergate::OutcomeStatus::kFilled);
  auto a2 = ConnectCurve(w, keys.gateway_public, keys.client_secret("strategy-a"));
  const ordergate::Outcome again = a2->SubmitAndWait(Buy());
  CHECK(again.status == ordergate::OutcomeStatus::kFilled);
  const Journal j = ReadJournal(w.journal());
  REQUIRE(j.entries.size() == 2);
  CHECK(j.entries[0].ticket != j.entries[1].ticket);

  // An unknown key: no PING reply, so Connect() gives up.
  ordergate::ClientOptions stranger;
  stranger.endpoint = w.gw_endpoint;
  stranger.connect_timeout_ms = 1000;
  stranger.curve_server_key = keys.gateway_public;
  stranger.curve_secret_cert = keys.client_secret("stranger");
  CHECK(ordergate::Client::Connect(stranger).status().code() == absl::StatusCode::kUnavailable);

  // No key: a plain REQ client like the MT5-CRS strategies'.
  ReqClient plain(w.ctx, w.gw_endpoint);
  CHECK_FALSE(plain.Call(PingBody(), Ms(1000)).has_value());

  // Not ZMTP at all.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port =
      htons(static_cast<uint16_t>(std::stoi(w.gw_endpoint.substr(w.gw_endpoint.rfind(':') + 1))));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string order = OpenBody(UniqueId("raw")) + "\n";
  REQUIRE(write(fd, order.data(), order.size()) == static_cast<ssize_t>(order.size()));
  std::string received;
  for (int i = 0; i < 100; ++i) {  // until the gateway closes it (at most 5 s)
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) != 1) continue;
    char buf[256];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    received.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  CHECK(received.find("status") == std::string::npos);  // no reply, at most libzmq's greeting

  // Counted: the unknown key once (each of its reconnects too, so at least once), the keyless and
  // the raw connection as failed handshakes.
  const auto deadline = std::chrono::steady_clock::now() + Ms(10000);
  while (std::chrono::steady_clock::now() < deadline &&
         (Metric(w, kUnknownKey) < 1 || Metric(w, kHandshake) < 2)) {
    std::this_thread::sleep_for(Ms(50));
  }
  CHECK(Metric(w, kUnknownKey) >= 1);
  CHECK(Metric(w, kHandshake) >= 2);
  // Nothing of theirs executed.
  CHECK(ReadJournal(w.journal()).entries.size() == 2);
  // The log: a rate-limited warning naming the peer and the reason.
  const auto log_deadline = std::chrono::steady_clock::now() + Ms(3000);
  while (std::chrono::steady_clock::now() < log_deadline &&
         w.gw->Stderr().find("unknown CURVE key") == std::string::npos) {
    std::this_thread::sleep_for(Ms(50));
  }
  const std::string err = w.gw->Stderr();
  CHECK(err.find("front end refused") != std::string::npos);
  CHECK(err.find("from 127.0.0.1") != std::string::npos);
  CHECK(err.find("unknown CURVE key") != std::string::npos);
}

TEST_CASE(
    "ordergated refuses to start when its secret certificate is readable by others, naming the "
    "file, its mode and chmod 600, and when two allowlisted certificates share a name",
    "[e2e][curve]") {
  TempDir dir;
  CurveKeys keys(dir);
  keys.AddClient("strategy-a", true);
  const std::vector<std::string> base = {
      "--listen",   "tcp://127.0.0.1:*", "--bridge",         "tcp://127.0.0.1:1",
      "--data-dir", dir.File("data"),    "--metrics-listen", ""};
  std::vector<std::string> args = base;
  const std::vector<std::string> curve = keys.Flags();
  args.insert(args.end(), curve.begin(), curve.end());

  REQUIRE(chmod(keys.secret_cert().c_str(), 0644) == 0);
  auto [code, err] = FailedStart(dir, args);
  CHECK(code != 0);
  CHECK(err.find(keys.secret_cert() + " has mode 0644") != std::string::npos);
  CHECK(err.find("chmod 600") != std::string::npos);
  REQUIRE(chmod(keys.secret_cert().c_str(), 0600) == 0);

  // A second certificate naming strategy-a under another key.
  Keygen(dir, "strategy-a", dir.File("other-keys"));
  fs::copy_file(dir.File("other-keys/strategy-a.key"), keys.clients_dir() + "/copy.key");
  std::tie(code, err) = FailedStart(dir, args);
  CHECK(code != 0);
  CHECK(err.find("both name the client \"strategy-a\"") != std::string::npos);

  // One of the pair without the other.
  std::vector<std::string> half = base;
  half.insert(half.end(), {"--curve-secret-cert", keys.secret_cert()});
  std::tie(code, err) = FailedStart(dir, half);
  CHECK(code != 0);
  CHECK(err.find("go together") != std::string::npos);
}

TEST_CASE(
    "ordergated refuses to listen beyond loopback without CURVE, and with --insecure-remote starts "
    "and warns",
    "[e2e][curve]") {
  TempDir dir;
  // Refused before anything binds.
  auto [code, err] =
      FailedStart(dir, {"--listen", "tcp://0.0.0.0:*", "--bridge", "tcp://127.0.0.1:1",
                        "--data-dir", dir.File("data"), "--metrics-listen", ""});
  CHECK(code != 0);
  CHECK(err.find("reaches beyond this host without CURVE") != std::string::npos);
  CHECK(err.find("--insecure-remote") != std::string::npos);

  // "lo" is an interface name, which the rule cannot tell from a remote one: it takes
  // --insecure-remote, and binds to loopback only (tests never bind elsewhere).
  Process gw(BinDir() + "/ordergated",
             {"--listen", "tcp://lo:*", "--insecure-remote", "--bridge", "tcp://127.0.0.1:1",
              "--data-dir", dir.File("data"), "--metrics-listen", "", "--log-level", "warn"},
             dir.File("insecure.stderr"));
  auto ready = gw.WaitForLine("ordergated ready ", Ms(20000));
  INFO("ordergated stderr:\n" << gw.Stderr());
  REQUIRE(ready.has_value());
  CHECK(ready->find("listen=tcp://127.0.0.1:") != std::string::npos);
  CHECK(gw.Stderr().find("insecure_remote: the front end listens on tcp://lo:* without CURVE") !=
        std::string::npos);
}
