#include "gateway/config.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gateway/cli.h"

using ordergate::gateway::GatewayConfig;
using ordergate::gateway::LoadConfigFile;
using ordergate::gateway::ParseCommandLine;
using ordergate::gateway::ParseRetention;
using ordergate::gateway::ValidateConfig;
using ordergate::idempotency::Durability;

namespace {

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

absl::StatusOr<ordergate::gateway::CliOptions> Parse(std::vector<std::string> args) {
  std::vector<const char*> argv = {"ordergated"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data());
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
  CHECK(c.metrics_listen == "127.0.0.1:0");
  CHECK(ValidateConfig(c).ok());
}

TEST_CASE("unknown flags, missing values and bad numbers are errors that name the flag",
          "[gateway]") {
  CHECK_THAT(Msg(Parse({"--no-such-flag", "1"}).status()), Catch::Contains("--no-such-flag"));
  CHECK_THAT(Msg(Parse({"--listen"}).status()), Catch::Contains("--listen needs a value"));
  CHECK_THAT(Msg(Parse({"--bridge-timeout-ms", "six"}).status()),
             Catch::Contains("--bridge-timeout-ms"));
  CHECK_THAT(Msg(Parse({"--durability", "maybe"}).status()), Catch::Contains("durability"));
  CHECK(Parse({"--help"})->help);
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

TEST_CASE("the shipped deploy/ordergate.toml loads, is aligned and states the defaults",
          "[gateway]") {
  auto cfg = LoadConfigFile(std::string(ORDERGATE_SOURCE_DIR) + "/deploy/ordergate.toml");
  REQUIRE(cfg.ok());
  CHECK(ValidateConfig(*cfg).ok());
  GatewayConfig defaults;
  CHECK(cfg->listen == defaults.listen);
  CHECK(cfg->bridge == defaults.bridge);
  CHECK(cfg->durability == defaults.durability);
  CHECK(cfg->client_timeout_ms == defaults.client_timeout_ms);
  CHECK(cfg->bridge_timeout_ms == defaults.bridge_timeout_ms);
  CHECK(cfg->bridge_signature_ttl_ms == defaults.bridge_signature_ttl_ms);
  CHECK(cfg->bridge_exec_margin_ms == defaults.bridge_exec_margin_ms);
  CHECK(cfg->bridge_max_in_flight == defaults.bridge_max_in_flight);
  CHECK(cfg->retention == defaults.retention);
  CHECK(cfg->max_request_bytes == defaults.max_request_bytes);
  CHECK(cfg->max_message_bytes == defaults.max_message_bytes);
}
