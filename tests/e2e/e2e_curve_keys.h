// Shared by the CURVE suites (e2e_curve_test.cc, e2e_curve_reload_test.cc, e2e_identity_test.cc):
// keys made by the real `ordergatectl keygen`, laid out as a deployment would (the gateway's pair,
// the allowlist directory, each client's own pair), and a C++ client connected over CURVE.
#ifndef ORDERGATE_TESTS_E2E_E2E_CURVE_KEYS_H_
#define ORDERGATE_TESTS_E2E_E2E_CURVE_KEYS_H_

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "ordergate/client.h"

namespace e2e {

// `ordergatectl keygen NAME DIR`; REQUIREs exit 0 and returns the public key it printed.
inline std::string Keygen(const TempDir& dir, const std::string& name, const std::string& key_dir) {
  Process ctl(BinDir() + "/ordergatectl", {"keygen", name, key_dir},
              dir.File("keygen-" + name + ".stderr"));
  auto st = ctl.Wait(Ms(10000));
  INFO("ordergatectl stderr:\n" << ctl.Stderr());
  REQUIRE(st.has_value());
  REQUIRE(Process::Decode(*st) == 0);
  for (const std::string& line : ctl.StdoutLines()) {
    if (line.rfind("public key: ", 0) == 0) return line.substr(12);
  }
  FAIL("ordergatectl keygen printed no public key");
  return "";
}

// Keys for a gateway and its clients under one test directory: keys/gateway.key{,_secret},
// clients/ (the allowlist), and each client's own pair under client-keys/.
struct CurveKeys {
  explicit CurveKeys(const TempDir& d) : dir(d) {
    gateway_public = Keygen(dir, "gateway", dir.File("keys"));
    std::filesystem::create_directories(clients_dir());
  }
  std::string secret_cert() const { return dir.File("keys/gateway.key_secret"); }
  std::string public_cert() const { return dir.File("keys/gateway.key"); }
  std::string clients_dir() const { return dir.File("clients"); }
  std::string client_secret(const std::string& name) const {
    return dir.File("client-keys/" + name + ".key_secret");
  }
  // A client pair; its public certificate goes into the allowlist when `allow`.
  void AddClient(const std::string& name, bool allow) {
    Keygen(dir, name, dir.File("client-keys"));
    if (allow) {
      std::filesystem::copy_file(dir.File("client-keys/" + name + ".key"),
                                 clients_dir() + "/" + name + ".key");
    }
  }
  std::vector<std::string> Flags() const {
    return {"--curve-secret-cert", secret_cert(), "--curve-clients-dir",
            clients_dir(),         "--log-level", "info"};
  }
  const TempDir& dir;
  std::string gateway_public;
};

// Waits for /readyz 200 (the bridge link up): World::WaitBridge asks PING, which a CURVE front end
// answers only to an allowlisted key.
inline bool WaitReady(const World& w) {
  const auto deadline = std::chrono::steady_clock::now() + Ms(10000);
  while (std::chrono::steady_clock::now() < deadline) {
    if (HttpGet(w.metrics_port, "/readyz").first == 200) return true;
    std::this_thread::sleep_for(Ms(50));
  }
  return false;
}

// The sim and a CURVE ordergated with `keys`' flags (plus `extra`), ready (WaitReady).
inline void StartCurveGateway(World& w, const CurveKeys& keys,
                              const std::vector<std::string>& extra = {}) {
  w.StartSim({});
  std::vector<std::string> flags = keys.Flags();
  flags.insert(flags.end(), extra.begin(), extra.end());
  w.StartGateway(flags);
  REQUIRE(WaitReady(w));
}

// A small market buy under a fresh uuid.
inline ordergate::Order Buy() {
  ordergate::Order o;
  o.uuid = ordergate::Client::NewUuid();
  o.symbol = "EURUSD";
  o.volume = 0.01;
  return o;
}

inline std::unique_ptr<ordergate::Client> ConnectCurve(const World& w,
                                                       const std::string& server_key,
                                                       const std::string& secret_cert) {
  ordergate::ClientOptions o;
  o.endpoint = w.gw_endpoint;
  o.connect_timeout_ms = 5000;
  o.curve_server_key = server_key;
  o.curve_secret_cert = secret_cert;
  auto c = ordergate::Client::Connect(o);
  INFO(c.status().message());
  REQUIRE(c.ok());
  return std::move(c).value();
}

}  // namespace e2e

#endif  // ORDERGATE_TESTS_E2E_E2E_CURVE_KEYS_H_
