#include "gateway/front_end_security.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/gateway.h"
#include "spdlog/spdlog.h"
#include "transport/curve_cert.h"

namespace ordergate::gateway {

absl::Status ConfigureFrontEndSecurity(const GatewayConfig& cfg, transport::FrontEndOptions* opts) {
  if (cfg.curve_secret_cert.empty()) {
    if (!IsLoopbackEndpoint(cfg.listen)) {
      // ValidateConfig lets this through only with insecure_remote.
      spdlog::warn(
          "insecure_remote: the front end listens on {} without CURVE: anyone who can reach that "
          "port can trade, unauthenticated and unencrypted (docs/SECURITY.md: set "
          "curve_secret_cert and curve_clients_dir)",
          cfg.listen);
    }
    return absl::OkStatus();
  }
  auto server = transport::ReadCurveSecretCertificate(cfg.curve_secret_cert);
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("curve_secret_cert: ", server.status().message()));
  }
  auto clients = transport::LoadCurveAllowlist(cfg.curve_clients_dir);
  if (!clients.ok()) {
    return absl::Status(clients.status().code(),
                        absl::StrCat("curve_clients_dir: ", clients.status().message()));
  }
  opts->curve_secret_key = server->secret_key;
  opts->curve_clients.clear();
  std::vector<std::string> names;
  for (const transport::CurveCertificate& c : *clients) {
    opts->curve_clients.emplace(c.public_key, c.name);
    names.push_back(c.name);
  }
  opts->on_auth_refusals = [](absl::string_view line) { spdlog::warn("{}", std::string(line)); };
  spdlog::info("CURVE on: gateway public key {} ({}); {} client(s) allowlisted from {}: {}",
               server->public_key, cfg.curve_secret_cert, names.size(), cfg.curve_clients_dir,
               names.empty() ? std::string("none") : absl::StrJoin(names, ", "));
  if (names.empty()) {
    spdlog::warn("curve_clients_dir {} holds no client certificate: every connection is refused",
                 cfg.curve_clients_dir);
  }
  return absl::OkStatus();
}

absl::Status ReloadCurveAllowlist(const GatewayConfig& cfg, const Gateway& gw) {
  if (cfg.curve_secret_cert.empty()) return absl::OkStatus();
  const auto refuse = [&](const absl::Status& why, absl::string_view what) {
    spdlog::error("SIGHUP: CURVE allowlist not reloaded, the current one stays in force: {}{}",
                  std::string(what), std::string(why.message()));
    return why;
  };
  auto loaded = transport::LoadCurveAllowlist(cfg.curve_clients_dir);
  if (!loaded.ok()) return refuse(loaded.status(), "curve_clients_dir: ");
  std::map<std::string, std::string> clients;
  for (const transport::CurveCertificate& c : *loaded) clients.emplace(c.public_key, c.name);
  auto previous = gw.ReplaceCurveClients(clients);
  if (!previous.ok()) return refuse(previous.status(), "");
  std::vector<std::string> added;
  std::vector<std::string> removed;
  for (const auto& [key, name] : clients) {
    auto was = previous->find(key);
    if (was == previous->end()) {
      added.push_back(name);
    } else if (was->second != name) {
      spdlog::warn(
          "SIGHUP: the client key {} is now named \"{}\" (was \"{}\"): its open connections keep "
          "\"{}\" until they reconnect",
          key, name, was->second, was->second);
    }
  }
  for (const auto& [key, name] : *previous) {
    if (!clients.contains(key)) removed.push_back(name);
  }
  const auto list = [](const std::vector<std::string>& names) {
    return names.empty() ? std::string("none") : absl::StrJoin(names, ", ");
  };
  spdlog::info(
      "SIGHUP: CURVE allowlist reloaded from {}: {} client(s) (added: {}; removed: {}, their open "
      "connections are no longer read)",
      cfg.curve_clients_dir, clients.size(), list(added), list(removed));
  if (clients.empty()) {
    spdlog::warn("curve_clients_dir {} holds no client certificate: every connection is refused",
                 cfg.curve_clients_dir);
  }
  return absl::OkStatus();
}

}  // namespace ordergate::gateway
