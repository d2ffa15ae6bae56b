// End to end, identities over CURVE on a real ordergated (issue 15): a uuid is scoped to the
// client's authenticated name. Two clients sending one uuid are two orders, each executed once at
// the bridge under a bridge uuid of its own and each replaying its own ticket; a client can
// neither read nor replay another's outcome by its uuid; an UNKNOWN of a named client is listed
// and resolved by name, the other client's order of the same uuid untouched.
#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e_checks.h"
#include "e2e_curve_keys.h"
#include "e2e_util.h"
#include "ordergate/client.h"
#include "transport/order_scope.h"

using namespace e2e;

namespace {

ordergate::Order BuyOf(const std::string& uuid, double volume) {
  ordergate::Order o;
  o.uuid = uuid;
  o.symbol = "EURUSD";
  o.volume = volume;
  return o;
}

std::string BridgeUuidOf(const std::string& name, const std::string& uuid) {
  std::string out;
  ordergate::AppendBridgeUuid(name, uuid, &out);
  return out;
}

// A simulator, an ordergated over CURVE started with `gateway_flags` besides its keys, and two
// allowlisted C++ clients connected: a (strategy-a) and b (strategy-b).
struct TwoClients {
  explicit TwoClients(const std::vector<std::string>& sim_flags = {},
                      const std::vector<std::string>& gateway_flags = {}) {
    keys.AddClient("strategy-a", true);
    keys.AddClient("strategy-b", true);
    w.StartSim(sim_flags);
    std::vector<std::string> flags = keys.Flags();
    flags.insert(flags.end(), gateway_flags.begin(), gateway_flags.end());
    w.StartGateway(flags);
    REQUIRE(WaitReady(w));
    a = ConnectCurve(w, keys.gateway_public, keys.client_secret("strategy-a"));
    b = ConnectCurve(w, keys.gateway_public, keys.client_secret("strategy-b"));
  }
  World w;
  CurveKeys keys{w.dir};
  std::unique_ptr<ordergate::Client> a;
  std::unique_ptr<ordergate::Client> b;
};

}  // namespace

TEST_CASE(
    "Two CURVE clients sending the same uuid are two orders: each executes once at the bridge "
    "under its own bridge uuid, and each retry replays that client's own ticket",
    "[e2e][curve][identity]") {
  TwoClients t;
  World& w = t.w;
  ordergate::Client* a = t.a.get();
  ordergate::Client* b = t.b.get();

  const std::string uuid = "shared-0001";
  const ordergate::Outcome fa = a->SubmitAndWait(BuyOf(uuid, 0.1));
  const ordergate::Outcome fb = b->SubmitAndWait(BuyOf(uuid, 0.1));
  INFO("a: " << fa.reply_json << "\nb: " << fb.reply_json);
  REQUIRE(fa.status == ordergate::OutcomeStatus::kFilled);
  REQUIRE(fb.status == ordergate::OutcomeStatus::kFilled);
  CHECK_FALSE(fb.duplicate);  // not a's outcome replayed: b's own order
  CHECK(fa.ticket != fb.ticket);
  CHECK(fa.uuid == uuid);
  CHECK(fb.uuid == uuid);
  CHECK(fa.reply_json.find("\"uuid\":\"" + uuid + "\"") != std::string::npos);
  CHECK(fb.reply_json.find("\"uuid\":\"" + uuid + "\"") != std::string::npos);

  // Each retry (the same body) replays its own client's ticket, three times over.
  for (int i = 0; i < 3; ++i) {
    const ordergate::Outcome ra = a->SubmitAndWait(BuyOf(uuid, 0.1));
    const ordergate::Outcome rb = b->SubmitAndWait(BuyOf(uuid, 0.1));
    CHECK(ra.duplicate);
    CHECK(rb.duplicate);
    CHECK(ra.ticket == fa.ticket);
    CHECK(rb.ticket == fb.ticket);
  }

  // At the bridge: two executions, one per bridge uuid, none under the clients' uuid.
  const Journal j = ReadJournal(w.journal());
  CHECK(j.Duplicates().empty());
  CHECK(j.by_uuid.count(uuid) == 0);
  const std::string ba = BridgeUuidOf("strategy-a", uuid);
  const std::string bb = BridgeUuidOf("strategy-b", uuid);
  REQUIRE(j.by_uuid.count(ba) == 1);
  REQUIRE(j.by_uuid.count(bb) == 1);
  CHECK(j.by_uuid.at(ba).size() == 1);
  CHECK(j.by_uuid.at(bb).size() == 1);
  CHECK(j.Ticket(ba) == fa.ticket);
  CHECK(j.Ticket(bb) == fb.ticket);
  CHECK(j.entries.size() == 2);
}

TEST_CASE(
    "A CURVE client can neither read nor replay another client's outcome by its uuid: "
    "ORDER_STATUS says NOT_FOUND and a different body is its own new order, not a conflict",
    "[e2e][curve][identity]") {
  TwoClients t;
  World& w = t.w;
  ordergate::Client* a = t.a.get();
  ordergate::Client* b = t.b.get();

  const std::string uuid = "private-0001";
  const ordergate::Outcome fa = a->SubmitAndWait(BuyOf(uuid, 0.2));
  REQUIRE(fa.status == ordergate::OutcomeStatus::kFilled);

  // b asks about a's uuid: the gateway has no order of b's by that name.
  auto seen_by_b = b->Status(uuid);
  INFO(seen_by_b.status().ToString());
  REQUIRE(seen_by_b.ok());
  CHECK_FALSE(seen_by_b->has_value());
  // a asks: its own outcome.
  auto seen_by_a = a->Status(uuid);
  REQUIRE(seen_by_a.ok());
  REQUIRE(seen_by_a->has_value());
  CHECK((*seen_by_a)->ticket == fa.ticket);

  // b sends a different order under a's uuid: for a that body would be IDEMPOTENCY_CONFLICT, for
  // b it is a new order of its own, executed once.
  const ordergate::Outcome fb = b->SubmitAndWait(BuyOf(uuid, 0.3));
  INFO("b: " << fb.reply_json);
  CHECK(fb.status == ordergate::OutcomeStatus::kFilled);
  CHECK(fb.error_code != "IDEMPOTENCY_CONFLICT");
  CHECK_FALSE(fb.duplicate);
  CHECK(fb.ticket != fa.ticket);
  const ordergate::Outcome conflict = a->SubmitAndWait(BuyOf(uuid, 0.3));
  CHECK(conflict.status == ordergate::OutcomeStatus::kRejected);
  CHECK(conflict.error_code == "IDEMPOTENCY_CONFLICT");
  CHECK(ReadJournal(w.journal()).entries.size() == 2);

  // The audit trail names each client's orders by name (the log line of each order's outcome is
  // at debug level; the admin API shows the record with its client and bridge uuid).
  const auto [code, body] = HttpGet(w.metrics_port, "/admin/orders/" + uuid + "?client=strategy-b");
  INFO(body);
  REQUIRE(code == 200);
  auto doc = Json::Parse(body);
  REQUIRE(doc);
  CHECK(doc->S("client") == "strategy-b");
  CHECK(doc->S("uuid") == uuid);
  CHECK(doc->S("bridge_uuid") == BridgeUuidOf("strategy-b", uuid));
  CHECK(doc->Int("reply.ticket") == fb.ticket);
}

TEST_CASE(
    "An UNKNOWN order of a CURVE client is listed as NAME/UUID, resolved with ordergatectl "
    "resolve --client, and replayed to that client only",
    "[e2e][curve][identity]") {
  // The real bridge's shape: executes and journals but never answers, and has no ORDER_STATUS.
  TwoClients t({"--fault-no-reply", "1", "--signature-ttl-ms", "300", "--no-order-status"},
               {"--bridge-signature-ttl-ms", "300", "--bridge-exec-margin-ms", "100",
                "--bridge-timeout-ms", "500", "--client-timeout-ms", "2000"});
  World& w = t.w;
  ordergate::Client* a = t.a.get();
  ordergate::Client* b = t.b.get();

  const std::string uuid = "dark-0001";
  const ordergate::Outcome ua = a->SubmitAndWait(BuyOf(uuid, 0.1));
  INFO("a: " << ua.reply_json);
  REQUIRE(ua.status == ordergate::OutcomeStatus::kUnknown);
  std::optional<int64_t> ticket;
  for (int i = 0; i < 200 && !ticket; ++i) {
    ticket = ReadJournal(w.journal()).Ticket(BridgeUuidOf("strategy-a", uuid));
    if (!ticket) std::this_thread::sleep_for(Ms(25));
  }
  REQUIRE(ticket.has_value());

  const CtlRun listed = Ctl(w, {"orders", "--state", "unknown"});
  INFO("orders: " << listed.out << listed.err);
  CHECK(listed.out.find("strategy-a/" + uuid) != std::string::npos);

  // Without the client's name the uuid is not an order of the global scope: refused, unchanged.
  const CtlRun unnamed = Ctl(w, {"resolve", uuid, "--filled", std::to_string(*ticket)});
  CHECK(unnamed.exit_code != 0);
  const CtlRun resolved = Ctl(w, {"resolve", uuid, "--client", "strategy-a", "--filled",
                                  std::to_string(*ticket), "--operator", "ops"});
  INFO("resolve: " << resolved.out << resolved.err);
  REQUIRE(resolved.exit_code == 0);
  CHECK(resolved.out.find("UNKNOWN -> FILLED") != std::string::npos);

  auto now_a = a->Status(uuid);
  REQUIRE(now_a.ok());
  REQUIRE(now_a->has_value());
  CHECK((*now_a)->status == ordergate::OutcomeStatus::kFilled);
  CHECK((*now_a)->ticket == *ticket);
  // b never sent that uuid: nothing of a's resolution is visible to it.
  auto now_b = b->Status(uuid);
  REQUIRE(now_b.ok());
  CHECK_FALSE(now_b->has_value());
  // Executed once, never resent.
  CHECK(ReadJournal(w.journal()).entries.size() == 1);
}
