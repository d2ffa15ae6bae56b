// GatewayConfig: every setting of ordergated, its defaults (those of docs/protocol.md), loading
// from TOML, and the timeout-alignment check that refuses a misaligned configuration at start-up.
//
//   absl::StatusOr<GatewayConfig> cfg = LoadConfigFile("deploy/ordergate.toml");   // or
//   GatewayConfig{} absl::Status aligned = ValidateConfig(*cfg); if (!aligned.ok()) { /* refuse to
//   start; aligned.message() names the rule */ }
//
// All calls here are start-up calls: they may allocate and carry messages, never run per order.
#ifndef ORDERGATE_GATEWAY_CONFIG_H_
#define ORDERGATE_GATEWAY_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "idempotency/store.h"

namespace ordergate::gateway {

struct GatewayConfig {
  std::string listen = "tcp://127.0.0.1:5555";  // front-end ROUTER
  std::string bridge = "tcp://127.0.0.1:5556";  // the MT5 bridge's REP
  std::string data_dir = "ordergate-data";      // RocksDB directory
  idempotency::Durability durability = idempotency::Durability::kSync;
  int64_t client_timeout_ms = 2000;        // reply deadline unless the request carries timeout_ms
  int64_t reply_margin_ms = 50;            // reply this long before the client's deadline
  int64_t bridge_timeout_ms = 6000;        // give up on a bridge reply: outcome UNKNOWN
  int64_t bridge_signature_ttl_ms = 5000;  // the bridge's risk_signature TTL
  int64_t bridge_exec_margin_ms =
      500;  // time the bridge may still spend executing after its TTL check
  int64_t bridge_max_in_flight = 1024;  // orders outstanding at the bridge; beyond: GATEWAY_BUSY
  absl::Duration retention = absl::Hours(24 * 7);
  std::string log_level = "info";
  std::string metrics_listen =
      "127.0.0.1:9464";                      // host:port for /healthz /readyz /metrics; "" = off
  int64_t max_request_bytes = 16384;         // larger bodies: OVERSIZE
  int64_t max_message_bytes = 1 << 20;       // ZMQ_MAXMSGSIZE: larger frames disconnect the peer
  double max_volume = 1000.0;                // larger volumes: INVALID_VOLUME
  int64_t unknown_query_interval_ms = 5000;  // how often an UNKNOWN is asked about (ORDER_STATUS)
  int64_t late_reply_window_ms = 600000;     // how long a timed-out order still accepts its reply
  int64_t max_batch = 256;                   // requests drained into one store batch (one fsync)
};

// Parses "sync" / "async".
absl::StatusOr<idempotency::Durability> ParseDurability(absl::string_view s);
absl::string_view DurabilityName(idempotency::Durability d);

// Parses a retention such as "7d", "168h", "90m", "3600s" or a plain number of seconds.
absl::StatusOr<absl::Duration> ParseRetention(absl::string_view s);

// Reads a TOML file whose keys are the field names above (retention as a string, durability
// "sync"|"async"). Unknown keys are an error (a typo must not silently keep a default).
// kNotFound / kInvalidArgument with a message naming the file, line and key.
absl::StatusOr<GatewayConfig> LoadConfigFile(const std::string& path);

// The alignment rules of the contract, section 3, plus basic ranges. OK, or kInvalidArgument whose
// message names the violated rule and the values, e.g.
// "bridge_timeout_ms (6000) must exceed bridge_signature_ttl_ms (5000) + bridge_exec_margin_ms
// (1500)".
absl::Status ValidateConfig(const GatewayConfig& cfg);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_CONFIG_H_
