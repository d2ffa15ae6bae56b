#include "gateway/front_end_security.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

}  // namespace ordergate::gateway
