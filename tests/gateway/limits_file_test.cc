// The [limits.NAME] tables of ordergated's TOML file (gateway/limits_file.h): what they read, and
// every error naming the file, the line and the key.
#include "gateway/limits_file.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/config.h"

namespace ordergate::gateway {
namespace {

std::string Msg(const absl::Status& st) { return std::string(st.message()); }

std::string ErrorOf(const std::string& text) {
  auto r = ParseLimits(text, "og.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  return Msg(r.status());
}

TEST_CASE(
    "The default section and each named section are read with every key, and a named "
    "section keeps the default's keys it does not name",
    "[gateway][limits]") {
  auto t = ParseLimits(R"(listen = "tcp://127.0.0.1:5555"
[limits.default]
max_volume = 5
max_orders_per_second = 50
max_in_flight = 20
max_notional_per_minute = 1e6

[limits.alpha]
symbols = ["EURUSD", "XAUUSD"]
max_volume = 0.5

[limits."desk two"]
max_orders_per_second = 0.5
)",
                       "og.toml");
  REQUIRE(t.ok());
  CHECK(t->default_limits == ClientLimits{.max_volume = 5.0,
                                          .max_orders_per_second = 50.0,
                                          .max_in_flight = 20,
                                          .max_notional_per_minute = 1e6});
  CHECK(t->For("alpha") == ClientLimits{.symbols = std::vector<std::string>{"EURUSD", "XAUUSD"},
                                        .max_volume = 0.5,
                                        .max_orders_per_second = 50.0,
                                        .max_in_flight = 20,
                                        .max_notional_per_minute = 1e6});
  CHECK(t->For("desk two").max_orders_per_second == 0.5);
  CHECK(t->For("") == t->default_limits);
  CHECK(t->For("unlisted") == t->default_limits);
}

TEST_CASE("A file without a limits table has no limits", "[gateway][limits]") {
  auto t = ParseLimits("listen = \"tcp://127.0.0.1:5555\"\n", "og.toml");
  REQUIRE(t.ok());
  CHECK(*t == LimitsTable{});
}

TEST_CASE(
    "An unknown key inside a limits table is an error naming the file, its line and the "
    "key",
    "[gateway][limits]") {
  const std::string m = ErrorOf("[limits.default]\nmax_volume = 1\nmax_volum = 2\n");
  CHECK_THAT(m, Catch::StartsWith("og.toml:3: limits.default.max_volum is not a limit"));
}

TEST_CASE("Values out of range or of the wrong type are refused with their line and key",
          "[gateway][limits]") {
  CHECK_THAT(ErrorOf("[limits.a]\nmax_volume = 0\n"),
             Catch::StartsWith("og.toml:2: limits.a.max_volume (0) must be a finite number"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_volume = -1\n"), Catch::Contains("limits.a.max_volume"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_volume = inf\n"), Catch::Contains("finite"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_volume = nan\n"), Catch::Contains("finite"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_volume = \"5\"\n"),
             Catch::Contains("limits.a.max_volume must be a number"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_notional_per_minute = 0.0\n"),
             Catch::Contains("limits.a.max_notional_per_minute (0) must be"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_orders_per_second = 0\n"),
             Catch::Contains("limits.a.max_orders_per_second (0) must be within 0.001..1000000"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_orders_per_second = 1000001\n"),
             Catch::Contains("within 0.001..1000000"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_in_flight = 0\n"),
             Catch::Contains("limits.a.max_in_flight (0) must be within 1..1000000"));
  CHECK_THAT(ErrorOf("[limits.a]\nmax_in_flight = 2.5\n"),
             Catch::Contains("limits.a.max_in_flight must be an integer"));
  CHECK_THAT(ErrorOf("[limits.a]\nsymbols = []\n"),
             Catch::Contains("og.toml:2: limits.a.symbols must be a non-empty list"));
  CHECK_THAT(ErrorOf("[limits.a]\nsymbols = \"EURUSD\"\n"), Catch::Contains("non-empty list"));
  CHECK_THAT(ErrorOf("[limits.a]\nsymbols = [\"EURUSD\", 3]\n"),
             Catch::Contains("limits.a.symbols must hold non-empty strings"));
  CHECK_THAT(ErrorOf("[limits.a]\nsymbols = [\"\"]\n"), Catch::Contains("non-empty strings"));
  CHECK_THAT(ErrorOf("limits = 5\n"), Catch::StartsWith("og.toml:1: limits must be a table"));
  CHECK_THAT(ErrorOf("[limits]\nmax_volume = 5\n"),
             Catch::StartsWith("og.toml:2: limits.max_volume must be a table"));
  CHECK_THAT(ErrorOf("[limits.a\n"), Catch::StartsWith("og.toml:1: "));
}

TEST_CASE(
    "The settings and the limits share one file: LoadConfigFile reads the settings and "
    "skips the limits, LoadLimitsFile reads the limits",
    "[gateway][limits]") {
  char dir_template[] = "/tmp/og-limits-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/ordergate.toml";
  {
    std::ofstream out(path);
    out << "bridge_timeout_ms = 7000\n[limits.default]\nmax_in_flight = 3\n";
  }
  auto cfg = LoadConfigFile(path);
  REQUIRE(cfg.ok());
  CHECK(cfg->bridge_timeout_ms == 7000);
  auto limits = LoadLimitsFile(path);
  REQUIRE(limits.ok());
  CHECK(limits->default_limits.max_in_flight == 3);
  auto missing = LoadLimitsFile(dir + "/absent.toml");
  CHECK_FALSE(missing.ok());
  CHECK_THAT(Msg(missing.status()), Catch::Contains("absent.toml"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ordergate::gateway
