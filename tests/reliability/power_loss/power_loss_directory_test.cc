// The power-loss run's first finding, on its own (issue 13): ordergated created its data
// directory and never fsynced the directory's parent, so a power cut soon after the first start
// took the whole directory back — every acknowledged record with it — and the next start opened a
// new, empty store that answered NOT_FOUND for orders the bridge had executed (their retries would
// execute again). Fixed in idempotency/data_directory.cc (CreateDataDirectory syncs the parents).
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "power_loss_run.h"

namespace {

using power_loss::LossyMount;
using power_loss::Ms;
using power_loss::Process;

TEST_CASE(
    "A data directory ordergated created keeps an acknowledged order through a power cut right "
    "after it",
    "[reliability][power_loss]") {
  e2e::World w;
  LossyMount fs(e2e::BinDir(), w.dir.File("disk"), w.dir.File("lossyfs.sock"),
                w.dir.File("lossyfs.stderr"), power_loss::g_opt.lenient);
  REQUIRE(fs.mounted());
  // The parent exists durably (a package's /var/lib/ordergate); the data directory does not.
  const std::string parent = fs.path() + "/var";
  REQUIRE(::mkdir(parent.c_str(), 0755) == 0);
  REQUIRE(power_loss::SyncPath(parent));
  REQUIRE(power_loss::SyncPath(fs.path()));
  const std::string data_dir = parent + "/ordergate-data";
  const std::string listen = "tcp://127.0.0.1:" + std::to_string(e2e::FreePort());
  w.StartSim({"--signature-ttl-ms", std::to_string(nemesis::kTtlMs)});
  const std::vector<std::string> args =
      power_loss::GatewayArgs(listen, w.sim_endpoint, data_dir, "sync");
  auto start = [&] {
    ++w.gw_starts;
    w.gw = std::make_unique<Process>(e2e::BinDir() + "/ordergated", args,
                                     w.dir.File("gw-" + std::to_string(w.gw_starts) + ".stderr"));
    INFO("ordergated stderr: " << w.gw->Stderr());
    REQUIRE(w.gw->WaitForLine("ordergated ready ", Ms(20000)));
    w.gw_endpoint = listen;
    REQUIRE(w.WaitBridge("up"));
  };
  start();

  e2e::ReqClient client(w.ctx, listen);
  const std::string uuid = e2e::UniqueId("pl-dir");
  const std::string body = e2e::OpenBody(uuid, 0.1, "\"timeout_ms\":5000");
  auto filled = client.CallJson(body);
  REQUIRE(filled);
  REQUIRE(filled->S("status") == "FILLED");
  const int64_t ticket = filled->Int("ticket").value_or(0);

  // The power goes: ordergated dies with the machine, the disk keeps only what was fsynced.
  w.gw->Signal(SIGKILL);
  const std::string cut = fs.Control("cut");
  INFO("cut: " << cut);
  REQUIRE(cut.rfind("ok", 0) == 0);
  REQUIRE(w.gw->Wait(Ms(15000)));
  REQUIRE(fs.Control("power-on") == "ok");
  start();

  auto status = client.CallJson(e2e::StatusBody(uuid));
  REQUIRE(status);
  INFO("ORDER_STATUS after the cut: " << status->raw());
  CHECK(status->S("status") == "FILLED");
  CHECK(status->Int("ticket").value_or(0) == ticket);
  auto resent = client.CallJson(body);
  REQUIRE(resent);
  INFO("resend after the cut: " << resent->raw());
  CHECK(resent->S("status") == "FILLED");
  CHECK(resent->Int("ticket").value_or(0) == ticket);
  CHECK(resent->Bool("duplicate") == true);
  CHECK(e2e::ReadJournal(w.journal()).Count(uuid) == 1);
  CHECK(w.StopGateway(SIGTERM) == 0);
}

}  // namespace
