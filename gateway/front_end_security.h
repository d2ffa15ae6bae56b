// The front end's security at start-up: GatewayConfig's curve_secret_cert, curve_clients_dir and
// insecure_remote turned into transport::FrontEndOptions (docs/SECURITY.md).
//
//   transport::FrontEndOptions fopts;
//   if (absl::Status s = ConfigureFrontEndSecurity(cfg, &fopts); !s.ok()) { /* refuse to start */ }
//
// With CURVE it reads the gateway's secret certificate (refused when group or others may read it)
// and the allowlist (every public certificate of curve_clients_dir, transport/curve_cert.h), logs
// the gateway's public key and the allowlisted names, and makes the front end warn (rate-limited)
// about the connections it refuses. Without CURVE and with `listen` beyond loopback (which
// ValidateConfig allows only with insecure_remote) it logs a warning. A start-up call: reads files,
// logs through spdlog; not thread-safe with itself, and needs no more.
//
// ReloadCurveAllowlist is the SIGHUP half (ordergated_main.cc): it re-reads curve_clients_dir with
// the same checks and hands the list to the running front end (Gateway::ReplaceCurveClients), or
// keeps the list in force and says why.
#ifndef ORDERGATE_GATEWAY_FRONT_END_SECURITY_H_
#define ORDERGATE_GATEWAY_FRONT_END_SECURITY_H_

#include "absl/status/status.h"
#include "gateway/config.h"
#include "transport/front_end.h"

namespace ordergate::gateway {

// OK, or the status of the certificate that cannot be used, its message naming the file (and for
// a secret certificate others may read, its mode and `chmod 600`).
absl::Status ConfigureFrontEndSecurity(const GatewayConfig& cfg, transport::FrontEndOptions* opts);

class Gateway;

// Re-reads cfg.curve_clients_dir (transport::LoadCurveAllowlist: the checks of the start) and
// replaces the allowlist of `gw`'s front end. Blocks on the file system; call it off the order loop
// (any thread: the front end takes the list thread-safely). Logs one line: on success info,
// "SIGHUP: CURVE allowlist reloaded from DIR: N client(s) (added: ...; removed: ...)", plus a
// warning per key that changed name (its open connections keep the old name until they reconnect)
// and one when the list is empty; on failure an error, "SIGHUP: CURVE allowlist not reloaded, the
// current one stays in force: ..." naming the file and why. Returns OK without doing anything when
// cfg has no CURVE; else the status logged (the directory's or the front end's).
absl::Status ReloadCurveAllowlist(const GatewayConfig& cfg, const Gateway& gw);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_FRONT_END_SECURITY_H_
