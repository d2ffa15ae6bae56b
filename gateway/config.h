// GatewayConfig: every setting of ordergated, its default (those of docs/protocol.md), its range,
// setting one from text (flags, TOML), and the alignment check that refuses a misaligned or
// out-of-range configuration at start-up.
//
//   absl::StatusOr<GatewayConfig> cfg = LoadConfigFile("deploy/ordergate.toml");   // or
//   GatewayConfig{} absl::Status valid = ValidateConfig(*cfg); if (!valid.ok()) { /* refuse to
//   start; valid.message() names the setting, its value and its range, or the rule */ }
//
// One table in config.cc (Settings()) holds every setting with its range: ValidateConfig, the TOML
// loader, the command line (cli.cc) and --help all read it, so a range is stated once. Every
// integer is bounded so that the deadline arithmetic of the gateway (now + a setting, in ns) can
// never overflow, and the alignment sums are computed without overflow whatever the values.
//
// All calls here are start-up calls: they may allocate and carry messages, never run per order.
// Thread-safety: pure functions over their arguments; Settings() is immutable.
#ifndef ORDERGATE_GATEWAY_CONFIG_H_
#define ORDERGATE_GATEWAY_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "idempotency/store.h"

namespace ordergate::gateway {

// The defaults; the ranges are in Settings() (and `ordergated --help`).
struct GatewayConfig {
  std::string listen = "tcp://127.0.0.1:5555";  // front-end ROUTER
  std::string bridge = "tcp://127.0.0.1:5556";  // the MT5 bridge's REP
  // RocksDB directory: where systemd's StateDirectory=ordergate puts it (deploy/), absolute so that
  // it never depends on the working directory; a development run passes its own --data-dir.
  std::string data_dir = "/var/lib/ordergate";
  idempotency::Durability durability = idempotency::Durability::kSync;
  int64_t client_timeout_ms = 2000;        // reply deadline unless the request carries timeout_ms
  int64_t reply_margin_ms = 50;            // reply this long before the client's deadline
  int64_t bridge_timeout_ms = 6000;        // give up on a bridge reply: outcome UNKNOWN
  int64_t bridge_signature_ttl_ms = 5000;  // the bridge's risk_signature TTL
  int64_t bridge_exec_margin_ms =
      500;  // time the bridge may still spend executing after its TTL check
  // Requests unanswered at the bridge (orders, relays, ORDER_STATUS questions); beyond it:
  // GATEWAY_BUSY. Must stay below bridge_receive_hwm: the bridge's application holds one request
  // while its socket's pipe holds the rest, and a pipe at its HWM stops reading the connection (no
  // ZMTP heartbeat is answered either, so the link is dropped with everything on it).
  int64_t bridge_max_in_flight = 900;
  // The ZMQ_RCVHWM of the bridge's REP socket, in messages (libzmq's default 1000, which the real
  // MT5-CRS bridge keeps). 0: the bridge's socket has no limit.
  int64_t bridge_receive_hwm = 1000;
  absl::Duration retention = absl::Hours(24 * 7);
  std::string log_level = "info";
  std::string metrics_listen =
      "127.0.0.1:9464";  // host:port for /healthz /readyz /metrics; "" = off
  // The admin token's file (gateway/admin_access.h): a mutating admin call from elsewhere than
  // loopback must carry its token. "" = none (loopback only). Mode 0600 or the gateway refuses to
  // start.
  std::string admin_token_file;
  // CurveZMQ on the front end (docs/SECURITY.md): the gateway's secret certificate (czmq's ZPL
  // format, mode 0600) and the directory of the clients' public certificates (the allowlist; each
  // one's metadata.name is that client's identity). Both or neither; "" = no CURVE.
  std::string curve_secret_cert;
  std::string curve_clients_dir;
  // Lets `listen` bind beyond loopback without CURVE (anyone who reaches the port can trade); a
  // warning is logged at every start. Without it such a configuration is refused.
  bool insecure_remote = false;
  int64_t max_request_bytes = 16384;         // larger bodies: OVERSIZE
  int64_t max_message_bytes = 1 << 20;       // ZMQ_MAXMSGSIZE: larger frames disconnect the peer
  double max_volume = 1000.0;                // larger volumes: INVALID_VOLUME
  int64_t unknown_query_interval_ms = 5000;  // how often an UNKNOWN is asked about (ORDER_STATUS)
  int64_t late_reply_window_ms = 600000;     // how long a timed-out order still accepts its reply
  int64_t max_batch = 256;                   // requests drained into one store batch (one fsync)
  // The audit log (gateway/audit_log.h): one JSON line per decision. Relative to data_dir unless
  // absolute; "" = off, the default of the library (an embedded or test gateway writes no file
  // it was not asked for); deploy/ordergate.toml turns it on ("audit.jsonl", beside the store).
  // Rotated before it passes audit_log_max_bytes; audit_log_keep rotated files are kept.
  std::string audit_log;
  int64_t audit_log_max_bytes = 64 << 20;
  int64_t audit_log_keep = 10;
  // The idempotency guard: "rocksdb" (the embedded store in data_dir, one gateway) or "postgres"
  // (one database shared by several gateways: docs/POSTGRES_GUARD.md). With "postgres":
  //  - guard_dsn is the libpq connection string, gateway_id this gateway's name (1..64 of
  //    [A-Za-z0-9._-], unique among the running gateways: its lease and its records carry it);
  //  - the lease rule (ValidateConfig, docs/protocol.md appendix): the gateway holds a lease on
  //    gateway_id, judged by the database's clock, for guard_lease_ms; it renews it every
  //    guard_lease_ms / 3, and once guard_lease_ms * 2 / 3 has passed since the start of its last
  //    successful renewal it stops admitting and sending orders (STORE_UNAVAILABLE) while it keeps
  //    resolving what it has; a lease the database saw expire is lost for good in the process,
  //    which drains and exits 75 for its supervisor to start a new one. The margin of a third of
  //    the lease covers the renewal's round trip and the clocks' rates, so this gateway stops
  //    sending before the database can see its lease expire. Only after that expiry may another
  //    gateway move this one's RESERVED orders to UNKNOWN (and ask the bridge about them, never
  //    resend them); a "not found" from the bridge proves nothing until bridge_signature_ttl_ms +
  //    bridge_exec_margin_ms after that adoption.
  //  - guard_lease_ms must be below bridge_timeout_ms, so that a dead gateway's in-flight orders
  //    are declared UNKNOWN (lease expiry + one sweep, at most guard_lease_ms * 4 / 3) about as
  //    soon as a live gateway's order whose bridge never answers.
  std::string guard = "rocksdb";
  std::string guard_dsn;
  std::string gateway_id;
  int64_t guard_lease_ms = 3000;
};

// How a setting's value is written in a TOML file: the loader (LoadConfigFile) asks for this type
// and names it when the file holds another.
enum class SettingType : uint8_t {
  kInteger,  // an integer (every *_ms, *_bytes, max_batch, ...)
  kNumber,   // a number, integer or floating point (max_volume)
  kString,   // a string (endpoints, paths, durability, retention, log_level)
  kBoolean,  // true or false (insecure_remote; a flag without a value means true)
};

// One setting as documented: the TOML key (also the name used in every message), its flag, the
// placeholder of its value in --help, its range as text, what it does, its default as text, and
// the type of its value in a TOML file.
struct SettingDoc {
  absl::string_view key;    // "bridge_timeout_ms"
  std::string flag;         // "--bridge-timeout-ms"
  absl::string_view value;  // "N", "ENDPOINT", "DURATION", ...
  std::string range;        // "1..600000"
  absl::string_view help;
  std::string default_value;  // "6000"
  SettingType type = SettingType::kString;
};

// Every setting of GatewayConfig, in --help order. Built once; never changes.
absl::Span<const SettingDoc> Settings();

// Parses `text` as the value of the setting whose TOML key is `key` into `cfg`, and checks it
// against the setting's range. kNotFound for an unknown key; kInvalidArgument naming the setting,
// the value and the range, e.g. `bridge_timeout_ms ("9223372036854775807") must be an integer
// within 1..600000`.
absl::Status SetSetting(absl::string_view key, absl::string_view text, GatewayConfig* cfg);

// The value of the setting whose TOML key is `key` in `cfg`, written as --help writes defaults
// (strings quoted, retention as Nd/Nh, durability bare): equal texts mean equal values. "" for an
// unknown key.
std::string SettingValueText(absl::string_view key, const GatewayConfig& cfg);

// Parses "sync" / "async".
absl::StatusOr<idempotency::Durability> ParseDurability(absl::string_view s);
absl::string_view DurabilityName(idempotency::Durability d);

// Parses a retention such as "7d", "168h", "90m", "3600s" or a plain number of seconds, within
// 1s..3650d: sub-second, negative, denormal, infinite and overflowing values are refused with a
// message naming the value and the range.
absl::StatusOr<absl::Duration> ParseRetention(absl::string_view s);

// Checks a ZeroMQ endpoint the way libzmq reads it: tcp://HOST:PORT (PORT 1..65535, or * when
// `bind` for a kernel-chosen port; a connect may name a source as tcp://SRC;HOST:PORT),
// ipc://PATH (at most 107 bytes, the size of sun_path; * when `bind`) or inproc://NAME.
// kInvalidArgument naming `setting`, the value and the accepted forms.
absl::Status CheckEndpoint(absl::string_view setting, absl::string_view endpoint, bool bind);

// True when `endpoint` (a bind endpoint CheckEndpoint accepts) is reachable from this host only:
// tcp:// on 127.0.0.0/8, [::1] or localhost, and every ipc:// and inproc:// endpoint. Anything else
// (0.0.0.0, *, another address, an interface name) is remote.
bool IsLoopbackEndpoint(absl::string_view endpoint);

// Checks a metrics address HOST:PORT (PORT 0..65535, 0 picks a free port; HOST may be [IPv6]) or
// "" (off). kInvalidArgument naming the value and the accepted form.
absl::Status CheckMetricsListen(absl::string_view host_port);

// Reads a TOML file whose keys are the field names above (retention as a string, durability
// "sync"|"async"), each checked against its range. Unknown keys are an error (a typo must not
// silently keep a default). kNotFound / kInvalidArgument with a message naming the file, line and
// key. Defined in config_file.cc, which only the daemon's target (ordergate_daemon) builds: the
// library (ordergate_gateway, libordergate) carries no TOML parser. Declared here, beside the
// settings it reads, so that ordergated's callers need one header.
absl::StatusOr<GatewayConfig> LoadConfigFile(const std::string& path);

// Every setting within its range (Settings()): OK, or kInvalidArgument naming the first setting
// out of its range, its value and the range. ValidateConfig runs it first.
absl::Status CheckRanges(const GatewayConfig& cfg);

// Every setting within its range (Settings()), then the alignment rules of the contract, section
// 3, computed without overflow; then the security rules: curve_secret_cert and curve_clients_dir
// both or neither, and a `listen` beyond loopback (IsLoopbackEndpoint) only with CURVE or
// insecure_remote. OK, or kInvalidArgument whose message names the setting, its value
// and its range, or the violated rule and the values, e.g.
// "bridge_timeout_ms (6000) must exceed bridge_signature_ttl_ms (5000) + bridge_exec_margin_ms
// (1500)". With guard = "postgres": guard_dsn non-empty, gateway_id valid, and guard_lease_ms below
// bridge_timeout_ms (the lease rule at GatewayConfig::guard).
absl::Status ValidateConfig(const GatewayConfig& cfg);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_CONFIG_H_
