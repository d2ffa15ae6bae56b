#include "gateway/config.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "gateway/build_info.h"
#include "gateway/cli.h"
#include "gateway/limits_file.h"

using ordergate::gateway::CheckEndpoint;
using ordergate::gateway::CheckMetricsListen;
using ordergate::gateway::GatewayConfig;
using ordergate::gateway::LoadConfigFile;
using ordergate::gateway::ParseCommandLine;
using ordergate::gateway::ParseRetention;
using ordergate::gateway::SetSetting;
using ordergate::gateway::Settings;
using ordergate::gateway::SettingValueText;
using ordergate::gateway::UsageText;
using ordergate::gateway::ValidateConfig;
using ordergate::idempotency::Durability;

namespace {

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

absl::StatusOr<ordergate::gateway::CliOptions> Parse(std::vector<std::string> args) {
  std::vector<const char*> argv = {"ordergated"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data());
}

// The --help entry of `flag` (from its line to the next flag's), its wrapped lines joined by one
// space each: CLI11 breaks a description onto lines indented to the description column.
std::string HelpEntry(const std::string& help, const std::string& flag) {
  size_t start = help.find("\n  " + flag + " ");
  if (start == std::string::npos) start = help.find("\n  " + flag + "=");  // a switch
  if (start == std::string::npos) return "";
  size_t end = help.find("\n  -", start + 1);
  if (end == std::string::npos) end = help.find("\n\n", start + 1);
  std::string entry;
  bool in_indent = false;
  for (char ch : help.substr(start + 3, end - start - 3)) {  // from the flag on
    if (ch == '\n') {
      in_indent = true;
    } else if (ch != ' ' && in_indent) {
      entry += ' ';
      in_indent = false;
    }
    if (!in_indent) entry += ch;
  }
  return entry;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()));
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace

TEST_CASE("the default configuration is the contract's and is aligned", "[gateway]") {
  GatewayConfig c;
  CHECK(c.client_timeout_ms == 2000);
  CHECK(c.reply_margin_ms == 50);
  CHECK(c.bridge_timeout_ms == 6000);
  CHECK(c.bridge_signature_ttl_ms == 5000);
  CHECK(c.bridge_exec_margin_ms == 500);
  CHECK(c.max_request_bytes == 16384);
  CHECK(c.max_message_bytes == 1 << 20);
  CHECK(c.durability == Durability::kSync);
  CHECK(c.retention == absl::Hours(24 * 7));
  CHECK(c.metrics_listen == "127.0.0.1:9464");
  CHECK(ValidateConfig(c).ok());
}

TEST_CASE(
    "a bridge timeout not above the signature TTL plus execution margin is refused, naming the "
    "rule",
    "[gateway]") {
  GatewayConfig c;
  c.bridge_timeout_ms = 5500;  // == 5000 + 500
  absl::Status s = ValidateConfig(c);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(Msg(s), Catch::Contains(
                         "bridge_timeout_ms (5500) must exceed bridge_signature_ttl_ms (5000)"));
  CHECK_THAT(Msg(s), Catch::Contains("bridge_exec_margin_ms (500)"));
  c.bridge_timeout_ms = 5501;
  CHECK(ValidateConfig(c).ok());
}

TEST_CASE("a reply margin that leaves no time before the client's deadline is refused",
          "[gateway]") {
  GatewayConfig c;
  c.reply_margin_ms = 2000;
  REQUIRE_FALSE(ValidateConfig(c).ok());
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("reply_margin_ms"));
  c.reply_margin_ms = -1;
  CHECK_FALSE(ValidateConfig(c).ok());
}

TEST_CASE("out-of-range settings are refused with the setting's name", "[gateway]") {
  GatewayConfig c;
  c.bridge_max_in_flight = 0;
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("bridge_max_in_flight"));
  c = GatewayConfig{};
  c.max_message_bytes = c.max_request_bytes;
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("max_message_bytes"));
  c = GatewayConfig{};
  c.client_timeout_ms = 600001;
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("client_timeout_ms"));
  c = GatewayConfig{};
  c.log_level = "loud";
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("log_level"));
  c = GatewayConfig{};
  c.max_volume = 0;
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("max_volume"));
}

TEST_CASE("retention accepts days, hours, seconds and plain seconds, and nothing else",
          "[gateway]") {
  CHECK(*ParseRetention("7d") == absl::Hours(168));
  CHECK(*ParseRetention("12h") == absl::Hours(12));
  CHECK(*ParseRetention("90m") == absl::Minutes(90));
  CHECK(*ParseRetention("3600") == absl::Seconds(3600));
  CHECK_FALSE(ParseRetention("").ok());
  CHECK_FALSE(ParseRetention("-1d").ok());
  CHECK_FALSE(ParseRetention("soon").ok());
  CHECK_FALSE(ParseRetention("0").ok());
}

TEST_CASE("command-line flags override the TOML file", "[gateway]") {
  const std::string path = WriteTemp("og-cfg-", R"(
listen = "tcp://127.0.0.1:7001"
bridge = "tcp://127.0.0.1:7002"
durability = "async"
client_timeout_ms = 3000
retention = "2d"
)");
  auto cli = Parse({"--config", path, "--client-timeout-ms=1500", "--data-dir", "/tmp/x",
                    "--bridge-max-in-flight", "8"});
  REQUIRE(cli.ok());
  CHECK(cli->config.listen == "tcp://127.0.0.1:7001");
  CHECK(cli->config.bridge == "tcp://127.0.0.1:7002");
  CHECK(cli->config.durability == Durability::kAsync);
  CHECK(cli->config.client_timeout_ms == 1500);
  CHECK(cli->config.retention == absl::Hours(48));
  CHECK(cli->config.data_dir == "/tmp/x");
  CHECK(cli->config.bridge_max_in_flight == 8);
  std::filesystem::remove(path);
}

TEST_CASE(
    "only the flags given override the TOML file: a repeated flag counts once with its last value, "
    "an empty value (\"\" or --name=) is a value, and a file that cannot be read names --config",
    "[gateway]") {
  const std::string path = WriteTemp("og-given-", R"(
metrics_listen = "127.0.0.1:9999"
max_batch = 32
log_level = "warn"
)");
  auto cli =
      Parse({"--config=" + path, "--max-batch", "8", "--max-batch=64", "--metrics-listen", ""});
  REQUIRE(cli.ok());
  CHECK(cli->config.max_batch == 64);
  CHECK(cli->config.metrics_listen.empty());
  CHECK(cli->config.log_level == "warn");  // not given: the file's, not the default "info"
  CHECK(cli->config.client_timeout_ms == GatewayConfig{}.client_timeout_ms);
  // `--metrics-listen=` is an empty value too, not a request to take the next argument.
  cli = Parse({"--config", path, "--metrics-listen=", "--max-batch", "9"});
  REQUIRE(cli.ok());
  CHECK(cli->config.metrics_listen.empty());
  CHECK(cli->config.max_batch == 9);
  // A value that is a flag's default is still a given flag: it overrides the file.
  cli = Parse({"--config", path, "--log-level", "info"});
  REQUIRE(cli.ok());
  CHECK(cli->config.log_level == "info");
  std::filesystem::remove(path);
  CHECK_THAT(Msg(Parse({"--config", "/nonexistent/ordergate.toml"}).status()),
             Catch::StartsWith("--config: /nonexistent/ordergate.toml"));
}

TEST_CASE("every documented flag is accepted", "[gateway]") {
  auto cli = Parse({"--listen",
                    "tcp://127.0.0.1:*",
                    "--bridge",
                    "tcp://127.0.0.1:1",
                    "--data-dir",
                    "d",
                    "--durability",
                    "async",
                    "--client-timeout-ms",
                    "100",
                    "--reply-margin-ms",
                    "10",
                    "--bridge-timeout-ms",
                    "900",
                    "--bridge-signature-ttl-ms",
                    "500",
                    "--bridge-exec-margin-ms",
                    "100",
                    "--bridge-max-in-flight",
                    "3",
                    "--bridge-receive-hwm",
                    "4",
                    "--retention",
                    "1h",
                    "--log-level",
                    "warn",
                    "--metrics-listen",
                    "127.0.0.1:0",
                    "--max-request-bytes",
                    "1000",
                    "--max-message-bytes",
                    "5000",
                    "--max-volume",
                    "5",
                    "--unknown-query-interval-ms",
                    "200",
                    "--late-reply-window-ms",
                    "1000",
                    "--max-batch",
                    "16"});
  REQUIRE(cli.ok());
  const GatewayConfig& c = cli->config;
  CHECK(c.bridge_timeout_ms == 900);
  CHECK(c.bridge_signature_ttl_ms == 500);
  CHECK(c.bridge_exec_margin_ms == 100);
  CHECK(c.max_volume == 5.0);
  CHECK(c.max_batch == 16);
  CHECK(c.bridge_receive_hwm == 4);
  CHECK(c.metrics_listen == "127.0.0.1:0");
  CHECK(ValidateConfig(c).ok());
}

TEST_CASE("unknown flags, missing values and bad numbers are errors that name the flag",
          "[gateway]") {
  CHECK_THAT(Msg(Parse({"--no-such-flag", "1"}).status()), Catch::Contains("--no-such-flag"));
  CHECK_THAT(Msg(Parse({"--listen"}).status()),
             Catch::StartsWith("--listen: ") && Catch::Contains("missing"));
  CHECK_THAT(Msg(Parse({"--bridge-timeout-ms", "six"}).status()),
             Catch::StartsWith("--bridge-timeout-ms: ") &&
                 Catch::Contains("bridge_timeout_ms (\"six\") must be an integer"));
  CHECK_THAT(Msg(Parse({"--durability", "maybe"}).status()),
             Catch::StartsWith("--durability: ") && Catch::Contains("sync or async"));
  CHECK_THAT(Msg(Parse({"stray"}).status()), Catch::Contains("stray"));
  // Every command-line error points at the list of flags.
  CHECK_THAT(Msg(Parse({"--max-batch", "0"}).status()),
             Catch::StartsWith("--max-batch: ") &&
                 Catch::EndsWith("\nRun ordergated --help for the flags."));
  CHECK(Parse({"--help"})->help);
  CHECK(Parse({"-h"})->help);
}

TEST_CASE("a TOML file with an unknown key or a wrong type is refused with file and line",
          "[gateway]") {
  const std::string typo =
      WriteTemp("og-typo-", "listen = \"tcp://127.0.0.1:1\"\nbridge_timout_ms = 7000\n");
  auto r = LoadConfigFile(typo);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(Msg(r.status()), Catch::Contains(":2:"));
  CHECK_THAT(Msg(r.status()), Catch::Contains("bridge_timout_ms"));
  const std::string wrong = WriteTemp("og-wrong-", "client_timeout_ms = \"fast\"\n");
  CHECK_THAT(Msg(LoadConfigFile(wrong).status()), Catch::Contains("must be an integer"));
  const std::string broken = WriteTemp("og-broken-", "listen = \n");
  CHECK_FALSE(LoadConfigFile(broken).ok());
  CHECK_FALSE(LoadConfigFile("/nonexistent/ordergate.toml").ok());
  std::filesystem::remove(typo);
  std::filesystem::remove(wrong);
  std::filesystem::remove(broken);
}

TEST_CASE(
    "the shipped deploy/ordergate.toml loads, is aligned, and states every setting at the default "
    "of GatewayConfig{} and --help, the data directory included, but for the CURVE certificates it "
    "deploys with",
    "[gateway]") {
  const std::string path = std::string(ORDERGATE_SOURCE_DIR) + "/deploy/ordergate.toml";
  auto cfg = LoadConfigFile(path);
  REQUIRE(cfg.ok());
  CHECK(ValidateConfig(*cfg).ok());
  // The keys the file states (each line "key = value"), so that a key left out (which would
  // silently take the default, whatever the comment says) fails too.
  std::vector<std::string> stated;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '[') break;  // the limits tables (limits_file.h) follow
    const size_t eq = line.find(" =");
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    stated.push_back(line.substr(0, eq));
  }
  const GatewayConfig defaults;
  CHECK(stated.size() == Settings().size());
  for (const auto& s : Settings()) {
    INFO(s.key);
    CHECK(std::find(stated.begin(), stated.end(), std::string(s.key)) != stated.end());
    if (s.key == "curve_secret_cert" || s.key == "curve_clients_dir" || s.key == "audit_log") {
      // docs/SECURITY.md: the shipped configuration speaks CURVE and keeps an audit log.
      CHECK(SettingValueText(s.key, *cfg) != SettingValueText(s.key, defaults));
    } else {
      CHECK(SettingValueText(s.key, *cfg) == SettingValueText(s.key, defaults));
    }
    CHECK(SettingValueText(s.key, defaults) == s.default_value);
  }
  CHECK(cfg->data_dir == defaults.data_dir);
  // Its limits tables load too: a default for every client and one client of its own.
  auto limits = ordergate::gateway::LoadLimitsFile(path);
  INFO(limits.status().ToString());
  REQUIRE(limits.ok());
  CHECK(limits->default_limits.max_volume == 100.0);
  CHECK(limits->by_identity.count("strategy-a") == 1);
  CHECK(limits->For("strategy-a").max_volume == 100.0);  // the default's, key by key
  CHECK(UsageText().find("--data-dir DIR") != std::string::npos);
  CHECK(UsageText().find("--data-dir DIR=\"" + defaults.data_dir + "\"") != std::string::npos);
}

TEST_CASE(
    "the defaults keep bridge_max_in_flight (900) below the real bridge's receive HWM (1000), and "
    "--help states every setting with its default and range",
    "[gateway]") {
  GatewayConfig c;
  CHECK(c.bridge_max_in_flight == 900);
  CHECK(c.bridge_receive_hwm == 1000);
  CHECK(ValidateConfig(c).ok());
  const std::string help = UsageText();
  REQUIRE(Settings().size() == 31);  // one per field of GatewayConfig
  for (const auto& s : Settings()) {
    INFO(s.key);
    CHECK_FALSE(s.range.empty());
    CHECK_FALSE(s.default_value.empty());
    // "  --bridge-timeout-ms N=6000   give up on ... accepts: 1..600000"
    const std::string entry = HelpEntry(help, s.flag);
    INFO(entry);
    // A switch (insecure_remote) takes no value: "--insecure-remote=false   allow ...".
    CHECK_THAT(entry, Catch::StartsWith(s.type == ordergate::gateway::SettingType::kBoolean
                                            ? s.flag + "=" + s.default_value + " "
                                            : s.flag + " " + std::string(s.value) + "=" +
                                                  s.default_value + " "));
    CHECK_THAT(entry, Catch::EndsWith(" accepts: " + s.range));
    // Every setting has its TOML key and is parsed by the same table.
    GatewayConfig probe;
    CHECK(SetSetting(s.key, "", &probe).code() != absl::StatusCode::kNotFound);
  }
  CHECK_THAT(HelpEntry(help, "--bridge-max-in-flight"),
             Catch::StartsWith("--bridge-max-in-flight N=900 ") &&
                 Catch::EndsWith(" accepts: 1..1000000"));
  CHECK_THAT(HelpEntry(help, "--bridge-receive-hwm"),
             Catch::StartsWith("--bridge-receive-hwm N=1000 "));
}

TEST_CASE(
    "an integer setting just outside its range, or past int64, is refused naming the setting, the "
    "value and the range, and its bounds are accepted",
    "[gateway]") {
  int checked = 0;
  for (const auto& s : Settings()) {
    if (s.value != "N") continue;
    const size_t dots = s.range.find("..");
    REQUIRE(dots != std::string::npos);
    const int64_t min = std::stoll(s.range.substr(0, dots));
    const int64_t max = std::stoll(s.range.substr(dots + 2));
    INFO(s.key << " range " << s.range);
    GatewayConfig c;
    CHECK(SetSetting(s.key, std::to_string(min), &c).ok());
    CHECK(SetSetting(s.key, std::to_string(max), &c).ok());
    const std::vector<std::string> bad_values = {std::to_string(min - 1), std::to_string(max + 1),
                                                 "9223372036854775807", "99999999999999999999",
                                                 "12abc"};
    for (const std::string& bad : bad_values) {
      const absl::Status st = SetSetting(s.key, bad, &c);
      REQUIRE_FALSE(st.ok());
      CHECK_THAT(Msg(st), Catch::Contains(std::string(s.key)) && Catch::Contains(bad) &&
                              Catch::Contains(s.range));
    }
    ++checked;
  }
  CHECK(checked == 15);  // every integer field of GatewayConfig
}

TEST_CASE(
    "a --bridge-timeout-ms of 9223372036854775807 is refused naming the range, and so is a TTL "
    "whose "
    "sum with the margin would overflow",
    "[gateway]") {
  auto cli = Parse({"--bridge-timeout-ms", "9223372036854775807"});
  REQUIRE_FALSE(cli.ok());
  CHECK_THAT(Msg(cli.status()), Catch::Contains("--bridge-timeout-ms") &&
                                    Catch::Contains("bridge_timeout_ms (9223372036854775807)") &&
                                    Catch::Contains("1..600000"));
  // The same values set directly: ValidateConfig names the range, and the alignment sum
  // bridge_signature_ttl_ms + bridge_exec_margin_ms cannot wrap around into passing.
  GatewayConfig c;
  c.bridge_signature_ttl_ms = std::numeric_limits<int64_t>::max();
  c.bridge_exec_margin_ms = 1000;
  REQUIRE_FALSE(ValidateConfig(c).ok());
  CHECK_THAT(Msg(ValidateConfig(c)),
             Catch::Contains("bridge_signature_ttl_ms") && Catch::Contains("1..600000"));
  c = GatewayConfig{};
  c.bridge_timeout_ms = std::numeric_limits<int64_t>::max();
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("bridge_timeout_ms (9223372036854775807)"));
  // From TOML too, with file and line.
  const std::string path = WriteTemp("og-huge-", "\nbridge_timeout_ms = 9223372036854775807\n");
  auto loaded = LoadConfigFile(path);
  REQUIRE_FALSE(loaded.ok());
  CHECK_THAT(Msg(loaded.status()), Catch::Contains(":2:") && Catch::Contains("1..600000"));
  std::filesystem::remove(path);
}

TEST_CASE(
    "retention refuses sub-second, denormal, negative, infinite and overflowing values, naming "
    "the range",
    "[gateway]") {
  for (const char* bad :
       {"0.0000001s", "0.5s", "1e-320d", "-1s", "-3d", "inf", "nan d", "nand", "infd", "3651d",
        "1e400d", "99999999999999d", "9223372036854775807", "99999999999999999999", "87600000h"}) {
    INFO(bad);
    auto r = ParseRetention(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(Msg(r.status()), Catch::Contains("retention") && Catch::Contains("1s..3650d"));
  }
  CHECK(*ParseRetention("1s") == absl::Seconds(1));
  CHECK(*ParseRetention("1") == absl::Seconds(1));
  CHECK(*ParseRetention("3650d") == absl::Hours(24 * 3650));
  CHECK_THAT(Msg(Parse({"--retention", "0.0000001s"}).status()),
             Catch::Contains("--retention") && Catch::Contains("0.0000001s"));
}

TEST_CASE("max_volume must be a number within 0.000001..1000000: 1e-320, NaN and inf are refused",
          "[gateway]") {
  for (const char* bad : {"1e-320", "0", "-1", "nan", "inf", "1e7", "0.0000009"}) {
    INFO(bad);
    auto cli = Parse({"--max-volume", bad});
    REQUIRE_FALSE(cli.ok());
    CHECK_THAT(Msg(cli.status()),
               Catch::Contains("max_volume") && Catch::Contains("0.000001..1000000"));
  }
  GatewayConfig c;
  c.max_volume = std::nan("");
  CHECK_FALSE(ValidateConfig(c).ok());
  c.max_volume = 1e-320;
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("max_volume"));
  CHECK(Parse({"--max-volume", "0.01"}).ok());
}

TEST_CASE("endpoints are checked as libzmq reads them, naming the setting, value and forms",
          "[gateway]") {
  for (const char* ok : {"tcp://127.0.0.1:5555", "tcp://127.0.0.1:*", "tcp://*:5555",
                         "tcp://[::1]:5555", "tcp://localhost:1", "tcp://127.0.0.1:65535",
                         "ipc:///tmp/og.sock", "ipc://*", "inproc://og"}) {
    INFO(ok);
    CHECK(CheckEndpoint("listen", ok, /*bind=*/true).ok());
  }
  for (const char* bad :
       {"tcp://127.0.0.1:99999", "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536",
        "tcp://127.0.0.1:", "tcp://127.0.0.1", "tcp://:5555", "tcp://127.0.0.1:-1",
        "tcp://127.0.0.1:+80", "tcp://127.0.0.1: 80", "udp://127.0.0.1:5555", "127.0.0.1:5555",
        "ipc://", "inproc://", "tcp://::1:5555"}) {
    INFO(bad);
    const absl::Status st = CheckEndpoint("listen", bad, /*bind=*/true);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(Msg(st), Catch::Contains("listen (\"" + std::string(bad) + "\")") &&
                            Catch::Contains("PORT 1..65535"));
  }
  CHECK_FALSE(CheckEndpoint("listen", "ipc://" + std::string(108, 'p'), true).ok());
  CHECK(CheckEndpoint("listen", "ipc://" + std::string(107, 'p'), true).ok());
  // The bridge is connected to: no wildcard port; a source address is libzmq's syntax.
  CHECK_FALSE(CheckEndpoint("bridge", "tcp://127.0.0.1:*", /*bind=*/false).ok());
  CHECK_FALSE(CheckEndpoint("bridge", "ipc://*", /*bind=*/false).ok());
  CHECK(CheckEndpoint("bridge", "tcp://127.0.0.1:5556", false).ok());
  CHECK(CheckEndpoint("bridge", "tcp://127.0.0.1:0;127.0.0.1:5556", false).ok());
  CHECK_FALSE(CheckEndpoint("bridge", "tcp://127.0.0.1:0;127.0.0.1:0", false).ok());

  auto cli = Parse({"--listen", "tcp://127.0.0.1:99999"});
  REQUIRE_FALSE(cli.ok());
  CHECK_THAT(Msg(cli.status()), Catch::Contains("--listen") &&
                                    Catch::Contains("tcp://127.0.0.1:99999") &&
                                    Catch::Contains("PORT 1..65535"));
  GatewayConfig c;
  c.bridge = "tcp://127.0.0.1:70000";
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("bridge (\"tcp://127.0.0.1:70000\")"));
}

TEST_CASE("the metrics address is HOST:PORT with PORT 0..65535, or empty for none", "[gateway]") {
  for (const char* ok :
       {"", "127.0.0.1:0", "127.0.0.1:9464", "127.0.0.1:65535", "[::1]:9464", "localhost:9464"}) {
    INFO(ok);
    CHECK(CheckMetricsListen(ok).ok());
  }
  for (const char* bad : {"127.0.0.1:65536", "127.0.0.1:99999", "9464", ":9464",
                          "127.0.0.1:", "127.0.0.1:-1", "::1:9464", "127.0.0.1:*"}) {
    INFO(bad);
    const absl::Status st = CheckMetricsListen(bad);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(Msg(st), Catch::Contains("metrics_listen") && Catch::Contains("PORT 0..65535"));
  }
}

TEST_CASE(
    "bridge_max_in_flight at or above bridge_receive_hwm is refused by the alignment check, "
    "naming both",
    "[gateway]") {
  GatewayConfig c;
  c.bridge_max_in_flight = 1024;  // the old default, past the real bridge's 1000
  absl::Status st = ValidateConfig(c);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(Msg(st), Catch::Contains("bridge_max_in_flight (1024) must be below "
                                      "bridge_receive_hwm (1000)"));
  c.bridge_max_in_flight = 1000;
  CHECK_FALSE(ValidateConfig(c).ok());
  c.bridge_max_in_flight = 999;
  CHECK(ValidateConfig(c).ok());
  c.bridge_receive_hwm = 0;  // a bridge socket without a limit
  c.bridge_max_in_flight = 100000;
  CHECK(ValidateConfig(c).ok());
  // The simulator's socket (HWM 100000), as bench/run_targets.sh configures it.
  auto cli = Parse({"--bridge-receive-hwm", "100000", "--bridge-max-in-flight", "1024"});
  REQUIRE(cli.ok());
  CHECK(ValidateConfig(cli->config).ok());
  const std::string path = WriteTemp("og-hwm-", "bridge_max_in_flight = 1000\n");
  auto loaded = LoadConfigFile(path);
  REQUIRE(loaded.ok());
  CHECK_THAT(Msg(ValidateConfig(*loaded)), Catch::Contains("bridge_receive_hwm (1000)"));
  std::filesystem::remove(path);
}

TEST_CASE(
    "--help names every HTTP path served on --metrics-listen and --version, which the parser "
    "reads as a request to print the version",
    "[gateway]") {
  const std::string help = UsageText();
  for (const char* path : {"/healthz", "/readyz", "/metrics", "/latency"}) {
    INFO(path);
    CHECK(help.find(std::string("\n  ") + path + " ") != std::string::npos);
  }
  CHECK(help.find("--version") != std::string::npos);
  auto cli = Parse({"--version"});
  REQUIRE(cli.ok());
  CHECK(cli->version);
  CHECK_FALSE(cli->help);
  const std::string version = ordergate::gateway::VersionText();
  CHECK_THAT(version,
             Catch::StartsWith("ordergated " + std::string(ordergate::gateway::BuildVersion()) +
                               " (commit " + std::string(ordergate::gateway::BuildCommit()) + ")"));
}

TEST_CASE("curve_secret_cert and curve_clients_dir are refused one without the other",
          "[gateway]") {
  GatewayConfig c;
  c.curve_secret_cert = "/etc/ordergate/curve/gateway.key_secret";
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("go together"));
  c.curve_secret_cert.clear();
  c.curve_clients_dir = "/etc/ordergate/curve/clients";
  CHECK_THAT(Msg(ValidateConfig(c)), Catch::Contains("go together"));
  c.curve_secret_cert = "/etc/ordergate/curve/gateway.key_secret";
  CHECK(ValidateConfig(c).ok());
  auto cli = Parse({"--curve-secret-cert", "s", "--curve-clients-dir", "d"});
  REQUIRE(cli.ok());
  CHECK(cli->config.curve_secret_cert == "s");
  CHECK(cli->config.curve_clients_dir == "d");
}

TEST_CASE("listen beyond loopback is refused without CURVE unless insecure_remote is set",
          "[gateway]") {
  using ordergate::gateway::IsLoopbackEndpoint;
  for (const char* local : {"tcp://127.0.0.1:5555", "tcp://127.1.2.3:*", "tcp://localhost:1",
                            "tcp://[::1]:5555", "ipc:///run/ordergate.sock", "inproc://front"}) {
    INFO(local);
    CHECK(IsLoopbackEndpoint(local));
    GatewayConfig c;
    c.listen = local;
    CHECK(ValidateConfig(c).ok());
  }
  for (const char* remote :
       {"tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.0.0.5:5555", "tcp://[::]:5555",
        "tcp://eth0:5555", "tcp://127.0.0.1.evil:1", "tcp://128.0.0.1:1", "tcp://127.0.0:1"}) {
    INFO(remote);
    CHECK_FALSE(IsLoopbackEndpoint(remote));
    GatewayConfig c;
    c.listen = remote;
    const absl::Status refused = ValidateConfig(c);
    if (CheckEndpoint("listen", remote, true).ok()) {
      CHECK_THAT(Msg(refused),
                 Catch::Contains("without CURVE") && Catch::Contains("--insecure-remote"));
    } else {
      CHECK_FALSE(refused.ok());
    }
    c.insecure_remote = true;
    if (CheckEndpoint("listen", remote, true).ok()) CHECK(ValidateConfig(c).ok());
    c.insecure_remote = false;
    c.curve_secret_cert = "s";
    c.curve_clients_dir = "d";
    if (CheckEndpoint("listen", remote, true).ok()) CHECK(ValidateConfig(c).ok());
  }
}

TEST_CASE("insecure_remote is a switch on the command line and a boolean in the TOML file",
          "[gateway]") {
  auto on = Parse({"--listen", "tcp://0.0.0.0:5555", "--insecure-remote"});
  REQUIRE(on.ok());
  CHECK(on->config.insecure_remote);
  CHECK(ValidateConfig(on->config).ok());
  auto off = Parse({"--insecure-remote=false"});
  REQUIRE(off.ok());
  CHECK_FALSE(off->config.insecure_remote);
  CHECK_THAT(Msg(Parse({"--insecure-remote=maybe"}).status()),
             Catch::Contains("insecure_remote (\"maybe\") must be true or false"));
  const std::string good = WriteTemp("og-insecure-", "insecure_remote = true\n");
  auto loaded = LoadConfigFile(good);
  REQUIRE(loaded.ok());
  CHECK(loaded->insecure_remote);
  const std::string bad = WriteTemp("og-insecure-bad-", "insecure_remote = \"yes\"\n");
  CHECK_THAT(Msg(LoadConfigFile(bad).status()),
             Catch::Contains(":1:") && Catch::Contains("insecure_remote must be true or false"));
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

TEST_CASE(
    "guard = postgres needs guard_dsn and a valid gateway_id, and a lease shorter than the bridge "
    "deadline; guard = rocksdb needs neither",
    "[gateway]") {
  GatewayConfig c;
  CHECK(c.guard == "rocksdb");
  CHECK(c.guard_lease_ms == 3000);
  CHECK(ValidateConfig(c).ok());
  auto pg = Parse({"--guard", "postgres", "--guard-dsn", "host=127.0.0.1 dbname=og", "--gateway-id",
                   "gw-a.1_x", "--guard-lease-ms", "2000"});
  REQUIRE(pg.ok());
  CHECK(pg->config.guard == "postgres");
  CHECK(pg->config.gateway_id == "gw-a.1_x");
  CHECK(ValidateConfig(pg->config).ok());
  CHECK_THAT(Msg(Parse({"--guard", "mysql"}).status()),
             Catch::Contains("guard (\"mysql\") must be rocksdb or postgres"));
  CHECK_THAT(Msg(Parse({"--gateway-id", "gw a"}).status()),
             Catch::Contains("gateway_id (\"gw a\") must be 1..64 characters"));
  CHECK_THAT(Msg(Parse({"--gateway-id", std::string(65, 'g')}).status()),
             Catch::Contains("must be 1..64 characters"));
  CHECK_THAT(Msg(Parse({"--guard-lease-ms", "299"}).status()),
             Catch::Contains("guard_lease_ms (299) must be within 300..600000"));
  GatewayConfig no_dsn = pg->config;
  no_dsn.guard_dsn.clear();
  CHECK_THAT(Msg(ValidateConfig(no_dsn)), Catch::Contains("guard_dsn (\"\") is required"));
  GatewayConfig no_id = pg->config;
  no_id.gateway_id.clear();
  CHECK_THAT(Msg(ValidateConfig(no_id)), Catch::Contains("gateway_id (\"\") is required"));
  GatewayConfig long_lease = pg->config;
  long_lease.guard_lease_ms = long_lease.bridge_timeout_ms;
  CHECK_THAT(Msg(ValidateConfig(long_lease)),
             Catch::Contains("guard_lease_ms (6000) must be below bridge_timeout_ms (6000)"));
  // The same values under the embedded guard are not its business.
  long_lease.guard = "rocksdb";
  long_lease.gateway_id.clear();
  CHECK(ValidateConfig(long_lease).ok());
}
