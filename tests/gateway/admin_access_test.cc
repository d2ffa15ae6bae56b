// The admin interface's gate (gateway/admin_access.h) and its request body
// (gateway/admin_api.h), as plain code: a caller from elsewhere than loopback cannot be made over
// loopback-only test sockets, so the decision itself is tested here.
#include "gateway/admin_access.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/admin_api.h"

namespace og = ordergate;
using og::gateway::DecideAdminAccess;
using og::gateway::IsLoopbackAddress;
using og::gateway::ParseResolutionBody;
using og::gateway::ReadAdminTokenFile;
using og::gateway::ResolvedOutcome;

namespace {

constexpr char kToken[] = "0123456789abcdef-token";

std::string TokenFile(const std::string& name, const std::string& content, mode_t mode) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("og-admin-" + std::to_string(::getpid()) + "-" + name))
                               .string();
  std::ofstream(path) << content;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path;
}

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

}  // namespace

TEST_CASE(
    "A mutating admin call without a token is admitted from loopback only, and one from "
    "elsewhere is refused saying what would admit it",
    "[gateway][admin]") {
  for (const char* ip : {"127.0.0.1", "127.10.20.30", "::1", "::ffff:127.0.0.1"}) {
    INFO(ip);
    CHECK(IsLoopbackAddress(ip));
    const auto d = DecideAdminAccess(ip, 40312, "", kToken);
    CHECK(d.allowed);
    CHECK(d.who_or_why == std::string("loopback ") + ip + ":40312");
  }
  for (const char* ip : {"10.1.2.3", "192.168.0.7", "::ffff:10.1.2.3", "2001:db8::1", "0.0.0.0",
                         "128.0.0.1", "", "localhost"}) {
    INFO(ip);
    CHECK_FALSE(IsLoopbackAddress(ip));
    const auto d = DecideAdminAccess(ip, 5120, "", kToken);
    CHECK_FALSE(d.allowed);
    CHECK_THAT(d.who_or_why, Catch::Contains("must come from loopback or carry the token") &&
                                 Catch::Contains(std::string(ip) + ":5120 without one"));
    // No token configured: still refused.
    CHECK_FALSE(DecideAdminAccess(ip, 5120, "", "").allowed);
  }
}

TEST_CASE(
    "A call carrying the admin token is admitted from anywhere, and a wrong or malformed token is "
    "refused even from loopback",
    "[gateway][admin]") {
  const std::string bearer = std::string("Bearer ") + kToken;
  const auto remote = DecideAdminAccess("10.1.2.3", 5120, bearer, kToken);
  CHECK(remote.allowed);
  CHECK(remote.who_or_why == "token from 10.1.2.3:5120");
  CHECK(DecideAdminAccess("127.0.0.1", 1, bearer, kToken).allowed);
  for (const std::string& wrong :
       {std::string("Bearer 0123456789abcdef-tokeN"), std::string("Bearer ") + kToken + "x",
        std::string("Basic ") + kToken, std::string(kToken), std::string("Bearer ")}) {
    INFO(wrong);
    for (const char* ip : {"127.0.0.1", "10.1.2.3"}) {
      const auto d = DecideAdminAccess(ip, 1, wrong, kToken);
      CHECK_FALSE(d.allowed);
      CHECK(d.who_or_why == "the token does not match the gateway's admin_token_file");
    }
  }
  // A gateway without a token file accepts no token at all.
  const auto none = DecideAdminAccess("127.0.0.1", 1, bearer, "");
  CHECK_FALSE(none.allowed);
  CHECK_THAT(none.who_or_why, Catch::Contains("has no admin_token_file"));
}

TEST_CASE(
    "The admin token file is read only at mode 0600 and with one token of 16 to 1024 printable "
    "characters; an empty setting means no token",
    "[gateway][admin]") {
  CHECK(ReadAdminTokenFile("")->empty());
  const std::string good = TokenFile("good", std::string(kToken) + "\n", 0600);
  auto token = ReadAdminTokenFile(good);
  REQUIRE(token.ok());
  CHECK(*token == kToken);

  for (mode_t mode : {0644, 0640, 0604, 0400, 0700, 0660}) {
    const std::string loose = TokenFile("loose", kToken, mode);
    auto refused = ReadAdminTokenFile(loose);
    INFO(Msg(refused.status()));
    REQUIRE_FALSE(refused.ok());
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
    CHECK_THAT(Msg(refused.status()), Catch::StartsWith("admin_token_file " + loose + " has mode " +
                                                        text + ": it must be 0600") &&
                                          Catch::EndsWith("chmod 600 " + loose));
    std::filesystem::remove(loose);
  }
  const std::string shorter = TokenFile("short", "too-short\n", 0600);
  CHECK_THAT(Msg(ReadAdminTokenFile(shorter).status()), Catch::Contains("16..1024 characters"));
  const std::string spaced = TokenFile("spaced", "two words in a token file", 0600);
  CHECK_THAT(Msg(ReadAdminTokenFile(spaced).status()), Catch::Contains("without spaces"));
  CHECK(ReadAdminTokenFile("/nonexistent/admin.token").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK_THAT(Msg(ReadAdminTokenFile(std::filesystem::temp_directory_path().string()).status()),
             Catch::Contains("is not a regular file"));
  for (const auto& p : {good, shorter, spaced}) std::filesystem::remove(p);
}

TEST_CASE(
    "A resolve body is read strictly: outcome FILLED needs a positive ticket, REJECTED a reason, "
    "and an unknown member or a wrong type is refused by name",
    "[gateway][admin]") {
  auto filled = ParseResolutionBody(
      "ord-1", R"({"outcome":"filled","ticket":5001,"price":1.25,"operator":"alice"})");
  REQUIRE(filled.ok());
  CHECK(filled->uuid == "ord-1");
  CHECK(filled->outcome == ResolvedOutcome::kFilled);
  CHECK(filled->ticket == 5001);
  CHECK(filled->price == 1.25);
  CHECK(filled->operator_name == "alice");
  auto rejected = ParseResolutionBody("ord-1", R"({"outcome":"REJECTED","reason":"no trace"})");
  REQUIRE(rejected.ok());
  CHECK(rejected->outcome == ResolvedOutcome::kRejected);
  CHECK(rejected->reason == "no trace");

  const std::pair<const char*, const char*> refused[] = {
      {R"({"outcome":"FILLED","tiket":5001})", "unknown member \"tiket\""},
      {R"({"outcome":"FILLED"})", "ticket must be the positive MT5 ticket"},
      {R"({"outcome":"FILLED","ticket":0})", "ticket must be the positive MT5 ticket"},
      {R"({"outcome":"FILLED","ticket":"5001"})", "ticket must be an integer"},
      {R"({"outcome":"FILLED","ticket":5,"price":-1})", "price, when given, must be"},
      {R"({"outcome":"FILLED","ticket":5,"reason":"x"})", "reason belongs to a rejection"},
      {R"({"outcome":"REJECTED"})", "reason must say why"},
      {R"({"outcome":"REJECTED","reason":"x","ticket":5})", "ticket and price belong to a fill"},
      {R"({"outcome":"UNKNOWN"})", "outcome must be \"FILLED\" or \"REJECTED\""},
      {R"({"ticket":5})", "outcome must be \"FILLED\" or \"REJECTED\""},
      {R"([1,2])", "the body must be one JSON object"},
      {"", "the body must be one JSON object"},
  };
  for (const auto& [body, why] : refused) {
    INFO(body);
    auto r = ParseResolutionBody("ord-1", body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(Msg(r.status()), Catch::Contains(why));
  }
  CHECK_THAT(Msg(ParseResolutionBody("bad uuid", R"({"outcome":"FILLED","ticket":5})").status()),
             Catch::Contains("uuid must be 1..64 characters"));
}
