// End to end, the data directory is damaged while ordergated is stopped (issue 9, finding 1): 300
// orders FILLED, SIGTERM, one change to the store's files, restart. ordergated must refuse to
// start, naming the damage, rather than open what is left and execute the orders again when their
// clients retry; the simulator's journal is the truth. And an undamaged restart replays every
// outcome.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

namespace fs = std::filesystem;

constexpr int kOrders = 300;

// The newest file of the store whose name starts with `prefix` and ends with `suffix`.
std::string Newest(const std::string& dir, const std::string& prefix, const std::string& suffix) {
  std::string best;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 && name > best) {
      best = name;
    }
  }
  INFO("no " << prefix << "*" << suffix << " in " << dir);
  REQUIRE_FALSE(best.empty());
  return dir + "/" + best;
}
std::string NewestWal(const std::string& dir) { return Newest(dir, "", ".log"); }

void TruncateToHalf(const std::string& file) { fs::resize_file(file, fs::file_size(file) / 2); }

// Rewrites `n` bytes a third of the way into `file`: each byte complemented, or zeroed.
void Overwrite(const std::string& file, size_t n, bool flip) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  const auto offset = static_cast<std::streamoff>(fs::file_size(file) / 3);
  std::string bytes(n, '\0');
  f.seekg(offset);
  f.read(bytes.data(), static_cast<std::streamsize>(n));
  REQUIRE(f.gcount() == static_cast<std::streamsize>(n));
  for (char& c : bytes) c = flip ? static_cast<char>(~c) : '\0';
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(n));
  REQUIRE(f);
}

// kOrders orders FILLED through ordergated, one REQ client, then SIGTERM. Returns their uuids.
std::vector<std::string> FillThenStop(World& w) {
  w.Start();
  ReqClient c(w.ctx, w.gw_endpoint);
  std::vector<std::string> uuids;
  for (int i = 0; i < kOrders; ++i) {
    uuids.push_back(UniqueId("damage"));
    std::optional<Json> r;
    for (int attempt = 0; attempt < 50; ++attempt) {  // GATEWAY_BUSY is retried, bounded
      r = c.CallJson(OpenBody(uuids.back()), Ms(5000));
      if (!r || r->S("error_code") != "GATEWAY_BUSY") break;
      std::this_thread::sleep_for(Ms(10));
    }
    REQUIRE(r);
    INFO("order " << i << ": " << r->raw());
    REQUIRE(r->S("status") == "FILLED");
  }
  const auto stopped = w.StopGateway(SIGTERM);
  REQUIRE(stopped.has_value());
  REQUIRE(*stopped == 0);
  REQUIRE(ReadJournal(w.journal()).entries.size() == static_cast<size_t>(kOrders));
  return uuids;
}

struct Damage {
  std::string what;
  std::function<void(const std::string& data_dir)> apply;
  std::vector<std::string> named;  // what ordergated's refusal must say
};

void RequireRefusedAfter(const Damage& damage) {
  World w;
  const std::vector<std::string> uuids = FillThenStop(w);
  damage.apply(w.data_dir());

  Process gw(BinDir() + "/ordergated",
             {"--listen", "tcp://127.0.0.1:*", "--bridge", w.sim_endpoint, "--data-dir",
              w.data_dir(), "--log-level", "warn", "--metrics-listen", "127.0.0.1:0"},
             w.dir.File("gw-damaged.stderr"));
  std::optional<std::string> ready = gw.WaitForLine("ordergated ready ", Ms(20000));
  if (ready) {
    // It accepted the damaged store: the clients retry every order, as they would.
    const size_t at = ready->find(" listen=");
    REQUIRE(at != std::string::npos);
    const std::string endpoint = ready->substr(at + 8, ready->find(' ', at + 8) - at - 8);
    ReqClient c(w.ctx, endpoint);
    for (const auto& u : uuids) c.CallJson(OpenBody(u), Ms(5000));
    gw.Signal(SIGTERM);
  }
  INFO(damage.what << "; ordergated stderr: " << gw.Stderr());
  CHECK_FALSE(ready.has_value());
  const auto st = gw.Wait(Ms(15000));
  REQUIRE(st.has_value());
  CHECK(Process::Decode(*st) != 0);
  for (const std::string& word : damage.named) CHECK(gw.Stderr().find(word) != std::string::npos);
  CHECK(gw.Stderr().find("docs/STORE_RECOVERY.md") != std::string::npos);
  CheckNeverReady(gw);
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.entries.size() == static_cast<size_t>(kOrders));
}

}  // namespace

TEST_CASE(
    "ordergated refuses to start on a store whose newest WAL was truncated to half after a "
    "clean stop, and no order executes twice",
    "[e2e][damage]") {
  RequireRefusedAfter({"WAL truncated to half",
                       [](const std::string& d) { TruncateToHalf(NewestWal(d)); },
                       {"records were lost", "WAL"}});
}

TEST_CASE(
    "ordergated refuses to start on a store with 16 bytes flipped a third into its WAL, and no "
    "order executes twice",
    "[e2e][damage]") {
  RequireRefusedAfter({"16 bytes flipped",
                       [](const std::string& d) { Overwrite(NewestWal(d), 16, /*flip=*/true); },
                       {"records were lost", "WAL"}});
}

TEST_CASE(
    "ordergated refuses to start on a store with 4 KiB of its WAL zeroed, and no order executes "
    "twice",
    "[e2e][damage]") {
  RequireRefusedAfter({"4 KiB zeroed",
                       [](const std::string& d) { Overwrite(NewestWal(d), 4096, /*flip=*/false); },
                       {"records were lost", "WAL"}});
}

TEST_CASE(
    "ordergated refuses to start on a store whose WAL was deleted, and no order executes twice",
    "[e2e][damage]") {
  RequireRefusedAfter({"WAL deleted",
                       [](const std::string& d) { fs::remove(NewestWal(d)); },
                       {"records were lost", "WAL"}});
}

TEST_CASE(
    "ordergated refuses to start on a store whose MANIFEST was truncated to half, and no order "
    "executes twice",
    "[e2e][damage]") {
  RequireRefusedAfter({"MANIFEST truncated to half",
                       [](const std::string& d) { TruncateToHalf(Newest(d, "MANIFEST-", "")); },
                       {"MANIFEST", "'records'"}});
}

TEST_CASE(
    "an undamaged store after a clean stop restarts and replays every outcome as a duplicate "
    "with its ticket",
    "[e2e][damage]") {
  World w;
  const std::vector<std::string> uuids = FillThenStop(w);
  const Journal before = ReadJournal(w.journal());
  w.StartGatewayLinked({});
  ReqClient c(w.ctx, w.gw_endpoint);
  for (const auto& u : uuids) {
    auto r = c.CallJson(OpenBody(u), Ms(5000));
    REQUIRE(r);
    INFO("after restart: " << r->raw());
    CHECK(r->S("status") == "FILLED");
    CHECK(r->Bool("duplicate") == true);
    CHECK(r->Int("ticket") == before.Ticket(u));
  }
  const Journal after = RequireAtMostOnce(w);
  CHECK(after.entries.size() == static_cast<size_t>(kOrders));
}
