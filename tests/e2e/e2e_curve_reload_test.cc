// End to end, the CURVE allowlist reloaded on SIGHUP by a real ordergated: a client whose
// certificate is added to curve_clients_dir trades without a restart; one whose certificate is
// removed stops at once on its open connection (its next order gets nothing, is counted as revoked
// and named in the log) while the other client keeps trading and no order is lost; a malformed
// certificate keeps the allowlist in force and the log says which file and why.
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "e2e_checks.h"
#include "e2e_curve_keys.h"
#include "e2e_util.h"
#include "ordergate/client.h"
#include "transport/curve_cert.h"
#include "transport/order_scope.h"

using namespace e2e;

namespace {

namespace fs = std::filesystem;

const std::string kRevoked = "ordergate_front_auth_refused_total{reason=\"revoked\"}";

std::string BridgeUuidOf(const std::string& name, const std::string& uuid) {
  std::string out;
  ordergate::AppendBridgeUuid(name, uuid, &out);
  return out;
}

// Sends SIGHUP and waits for the allowlist's reload line after it (either outcome); returns the
// stderr written since.
std::string Sighup(World& w) {
  const size_t before = w.gw->Stderr().size();
  REQUIRE(w.gw->Signal(SIGHUP));
  const auto end = std::chrono::steady_clock::now() + Ms(5000);
  while (std::chrono::steady_clock::now() < end) {
    const std::string err = w.gw->Stderr();
    if (err.size() > before && err.find("SIGHUP: CURVE allowlist", before) != std::string::npos) {
      // The line is complete once its newline is written.
      const size_t at = err.find("SIGHUP: CURVE allowlist", before);
      if (err.find('\n', at) != std::string::npos) return err.substr(before);
    }
    std::this_thread::sleep_for(Ms(20));
  }
  FAIL("no allowlist reload line after SIGHUP:\n" << w.gw->Stderr());
  return "";
}

// A raw DEALER over CURVE with the keys of a client's secret certificate, framed as the contract
// says ([empty][body]), so that a test sees exactly what comes back and when.
class CurveDealer {
 public:
  CurveDealer(zmq::context_t& ctx, const std::string& endpoint, const std::string& server_key,
              const std::string& secret_cert)
      : sock_(ctx, zmq::socket_type::dealer) {
    auto cert = ordergate::transport::ReadCurveCertificate(secret_cert);
    REQUIRE(cert.ok());
    sock_.set(zmq::sockopt::linger, 0);
    sock_.set(zmq::sockopt::curve_serverkey, server_key);
    sock_.set(zmq::sockopt::curve_publickey, cert->public_key);
    sock_.set(zmq::sockopt::curve_secretkey, cert->secret_key);
    sock_.connect(endpoint);
  }
  void Send(const std::string& body) {
    sock_.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
    sock_.send(zmq::buffer(body), zmq::send_flags::none);
  }
  std::optional<Json> RecvJson(Ms timeout) {
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, timeout);
    if ((item.revents & ZMQ_POLLIN) == 0) return std::nullopt;
    std::string body;
    for (;;) {
      zmq::message_t m;
      if (!sock_.recv(m, zmq::recv_flags::none)) return std::nullopt;
      body = m.to_string();
      if (!m.more()) break;
    }
    return Json::Parse(body);
  }

 private:
  zmq::socket_t sock_;
};

}  // namespace

TEST_CASE(
    "After SIGHUP a client whose certificate was added trades without a restart, and after its "
    "removal and a SIGHUP its open connection's next order gets nothing and is counted while the "
    "other client keeps trading and no order is lost",
    "[e2e][curve][reload]") {
  World w;
  CurveKeys keys(w.dir);
  keys.AddClient("strategy-a", true);
  keys.AddClient("strategy-b", false);
  StartCurveGateway(w, keys);
  auto a = ConnectCurve(w, keys.gateway_public, keys.client_secret("strategy-a"));
  REQUIRE(a->SubmitAndWait(Buy()).status == ordergate::OutcomeStatus::kFilled);

  // Not allowlisted yet: refused at the handshake.
  CurveDealer early(w.ctx, w.gw_endpoint, keys.gateway_public, keys.client_secret("strategy-b"));
  early.Send(PingBody());
  CHECK_FALSE(early.RecvJson(Ms(1000)).has_value());

  // Added: a new connection trades, the gateway never restarted.
  const std::string b_cert = keys.clients_dir() + "/strategy-b.key";
  fs::copy_file(w.dir.File("client-keys/strategy-b.key"), b_cert);
  std::string log = Sighup(w);
  INFO(log);
  CHECK(log.find("SIGHUP: CURVE allowlist reloaded from " + keys.clients_dir() +
                 ": 2 client(s) (added: strategy-b; removed: none") != std::string::npos);
  CHECK(w.gw_starts == 1);
  CurveDealer b(w.ctx, w.gw_endpoint, keys.gateway_public, keys.client_secret("strategy-b"));
  const std::string b_before = UniqueId("b-before");
  b.Send(OpenBody(b_before));
  auto filled = b.RecvJson(Ms(5000));
  REQUIRE(filled.has_value());
  CHECK(filled->S("status") == "FILLED");

  // strategy-a keeps a stream of orders in flight across the removal of strategy-b.
  std::vector<std::string> a_uuids;
  std::vector<std::future<ordergate::Outcome>> a_orders;
  const auto submit_a = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ordergate::Order o = Buy();
      a_uuids.push_back(o.uuid);
      a_orders.push_back(a->Submit(o));
    }
  };
  submit_a(20);
  fs::remove(b_cert);
  log = Sighup(w);
  CHECK(log.find("2 client(s)") == std::string::npos);
  CHECK(log.find("1 client(s) (added: none; removed: strategy-b") != std::string::npos);
  submit_a(20);

  // b's open connection: its next order gets nothing, never reaches the bridge, and is counted.
  const std::string b_after = UniqueId("b-after");
  b.Send(OpenBody(b_after));
  CHECK_FALSE(b.RecvJson(Ms(1500)).has_value());
  b.Send(StatusBody(b_before));  // not even ORDER_STATUS of its own earlier order
  CHECK_FALSE(b.RecvJson(Ms(1000)).has_value());
  const auto deadline = std::chrono::steady_clock::now() + Ms(5000);
  while (std::chrono::steady_clock::now() < deadline && Metric(w, kRevoked) < 2) {
    std::this_thread::sleep_for(Ms(50));
  }
  CHECK(Metric(w, kRevoked) == 2);
  // A new connection with the removed key is refused at the handshake.
  CurveDealer again(w.ctx, w.gw_endpoint, keys.gateway_public, keys.client_secret("strategy-b"));
  again.Send(OpenBody(UniqueId("b-again")));
  CHECK_FALSE(again.RecvJson(Ms(1000)).has_value());

  // strategy-a lost nothing: every order filled, each executed exactly once.
  submit_a(5);
  for (auto& f : a_orders) {
    const ordergate::Outcome out = f.get();
    INFO(out.reply_json);
    CHECK(out.status == ordergate::OutcomeStatus::kFilled);
  }
  const Journal j = ReadJournal(w.journal());
  CHECK(j.Duplicates().empty());
  for (const std::string& uuid : a_uuids) CHECK(j.Count(BridgeUuidOf("strategy-a", uuid)) == 1);
  CHECK(j.Count(BridgeUuidOf("strategy-b", b_before)) == 1);
  CHECK(j.Count(BridgeUuidOf("strategy-b", b_after)) == 0);
  CHECK(j.entries.size() == a_uuids.size() + 2);  // a's first order and b's one before removal

  // The warning names the revoked identity.
  const std::string err = w.gw->Stderr();
  CHECK(err.find("request(s) from revoked client(s)") != std::string::npos);
  CHECK(err.find("the last from \"strategy-b\"") != std::string::npos);
}

TEST_CASE(
    "After SIGHUP with a malformed certificate in curve_clients_dir the allowlist in force stays "
    "and the log names the file and why",
    "[e2e][curve][reload]") {
  World w;
  CurveKeys keys(w.dir);
  keys.AddClient("strategy-a", true);
  StartCurveGateway(w, keys);
  auto a = ConnectCurve(w, keys.gateway_public, keys.client_secret("strategy-a"));
  REQUIRE(a->SubmitAndWait(Buy()).status == ordergate::OutcomeStatus::kFilled);

  const std::string bad = keys.clients_dir() + "/broken.key";
  {
    std::ofstream out(bad);
    out << "metadata\n    name = \"broken\"\ncurve\n    public-key = \"not-forty-characters\"\n";
  }
  const std::string log = Sighup(w);
  INFO(log);
  CHECK(log.find("SIGHUP: CURVE allowlist not reloaded, the current one stays in force: "
                 "curve_clients_dir: ") != std::string::npos);
  CHECK(log.find(bad) != std::string::npos);
  CHECK(log.find("reloaded from") == std::string::npos);

  // The open connection and a new one both still trade, and nothing was counted as revoked.
  CHECK(a->SubmitAndWait(Buy()).status == ordergate::OutcomeStatus::kFilled);
  auto a2 = ConnectCurve(w, keys.gateway_public, keys.client_secret("strategy-a"));
  CHECK(a2->SubmitAndWait(Buy()).status == ordergate::OutcomeStatus::kFilled);
  CHECK(Metric(w, kRevoked) == 0);

  // Fixed, and reloaded: the list is read again.
  fs::remove(bad);
  CHECK(Sighup(w).find("SIGHUP: CURVE allowlist reloaded from " + keys.clients_dir() +
                       ": 1 client(s) (added: none; removed: none") != std::string::npos);
  CHECK(ReadJournal(w.journal()).entries.size() == 3);
}
