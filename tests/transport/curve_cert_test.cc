// CURVE certificates (transport/curve_cert.h): the ZPL files of czmq's zcert, read, written, and
// checked, on real files in a fresh temporary directory.
#include "transport/curve_cert.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

namespace ordergate::transport {
namespace {

// A keypair made once with zmq_curve_keypair, for literal certificates.
constexpr char kPublic[] = "giLc13Wobj.H(L(A9[Hg2O=#HAk1YWEJ8TUYHTs<";
constexpr char kSecret[] = "Z7GH)4(x?w5kYH?C+I^sTYR]JlJPpgY7dT$>aC1n";
constexpr char kOtherPublic[] = "42R5is]]27ebXA:Dl%]^OEd]FjwtH}[/sx0b<Ke}";

// What czmq 4.2's zcert_save_public writes, byte for byte but for the key and the date.
const std::string kCzmqPublic = std::string(
                                    "#   ****  Generated on 2026-12-04 10:11:12 by CZMQ  ****\n"
                                    "#   ZeroMQ CURVE Public Certificate\n"
                                    "#   Exchange securely, or use a secure mechanism to verify "
                                    "the contents\n"
                                    "#   of this file after exchange. Store public certificates "
                                    "in your home\n"
                                    "#   directory, in the .curve subdirectory.\n"
                                    "\n"
                                    "metadata\n"
                                    "    name = \"strategy-a\"\n"
                                    "    email = \"desk@example.com\"\n"
                                    "curve\n"
                                    "    public-key = \"") +
                                kPublic + "\"\n";

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/ordergate-curve-cert-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
  std::string File(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    const std::string p = path + "/" + name;
    std::ofstream(p) << text;
    REQUIRE(chmod(p.c_str(), mode) == 0);
    return p;
  }
  std::string path;
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("A public certificate as czmq writes it is read with its name and key", "[transport]") {
  auto cert = ParseCurveCertificate(kCzmqPublic, "strategy-a.key");
  REQUIRE(cert.ok());
  CHECK(cert->name == "strategy-a");
  CHECK(cert->public_key == kPublic);
  CHECK(cert->secret_key.empty());
}

TEST_CASE("Unquoted and single-quoted values, trailing comments and CRLF lines are read",
          "[transport]") {
  const std::string text =
      std::string("# comment\r\nmetadata\r\n    name = strategy-b   # who\r\n") +
      "    # an indented comment\r\ncurve\r\n    public-key = '" + kPublic +
      "'  # the key\r\n    secret-key = \"" + kSecret + "\"\r\n";
  auto cert = ParseCurveCertificate(text, "b.key_secret");
  REQUIRE(cert.ok());
  CHECK(cert->name == "strategy-b");
  CHECK(cert->public_key == kPublic);
  CHECK(cert->secret_key == kSecret);
}

TEST_CASE("A certificate written by the writer reads back as the same name and keys",
          "[transport]") {
  auto pair = GenerateCurveKeyPair();
  REQUIRE(pair.ok());
  CurveCertificate cert{"desk-7", pair->public_key, pair->secret_key, ""};
  auto secret = ParseCurveCertificate(FormatCurveCertificate(cert, true, "2026-12-04"), "s");
  REQUIRE(secret.ok());
  CHECK(secret->name == "desk-7");
  CHECK(secret->public_key == pair->public_key);
  CHECK(secret->secret_key == pair->secret_key);
  auto pub = ParseCurveCertificate(FormatCurveCertificate(cert, false, "2026-12-04"), "p");
  REQUIRE(pub.ok());
  CHECK(pub->name == "desk-7");
  CHECK(pub->public_key == pair->public_key);
  CHECK(pub->secret_key.empty());
}

TEST_CASE("Malformed certificates are refused with a message naming the file and the line",
          "[transport]") {
  const std::string curve = std::string("curve\n    public-key = \"") + kPublic + "\"\n";
  struct Case {
    std::string text;
    std::string expect;
  };
  const Case cases[] = {
      {"metadata\n\tname = \"x\"\n" + curve, "f.key:2: a tab"},
      {"metadata\n   name = \"x\"\n" + curve, "f.key:2: indentation of 3 spaces"},
      {"metadata\n        name = \"x\"\n" + curve, "f.key:2: indented deeper"},
      {"metadata\n    name = \"x\n" + curve, "f.key:2: a quoted value without its closing quote"},
      {"metadata\n    name = \"x\" y\n" + curve, "f.key:2: text after the value of 'name'"},
      {"metadata\n    name : x\n" + curve, "f.key:2: expected '='"},
      {"metadata\n    =x\n" + curve, "f.key:2: '=' cannot start a name"},
      {"curve\n    public-key = \"tooshort\"\n", "f.key:2: curve public-key must be 40"},
      {curve + "    public-key = \"" + kPublic + "\"\n", "f.key:3: curve public-key given twice"},
      {"metadata\n    name = \"x\"\n", "f.key: no curve public-key"},
      {curve + "    secret-key = \"" + std::string(kSecret) + "\"\n", ""},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto cert = ParseCurveCertificate(c.text, "f.key");
    if (c.expect.empty()) {
      CHECK(cert.ok());
      continue;
    }
    REQUIRE_FALSE(cert.ok());
    CHECK(cert.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(cert.status().message()).rfind(c.expect, 0) == 0);
  }
}

TEST_CASE("A secret key that does not belong to the certificate's public key is refused",
          "[transport]") {
  const std::string text = std::string("curve\n    public-key = \"") + kOtherPublic +
                           "\"\n    secret-key = \"" + kSecret + "\"\n";
  auto cert = ParseCurveCertificate(text, "mixed.key_secret");
  REQUIRE_FALSE(cert.ok());
  CHECK(std::string(cert.status().message()).find("does not belong") != std::string::npos);
}

TEST_CASE("keygen writes a 0600 secret and a 0644 public certificate and never overwrites them",
          "[transport]") {
  TempDir tmp;
  const std::string dir = tmp.path + "/keys";
  umask(0);  // the modes must not depend on the umask
  auto written = WriteCurveCertificatePair(dir, "strategy-a");
  umask(022);
  REQUIRE(written.ok());
  CHECK(written->public_path == dir + "/strategy-a.key");
  CHECK(written->secret_path == dir + "/strategy-a.key_secret");
  CHECK(ModeOf(dir) == 0700);
  CHECK(ModeOf(written->secret_path) == 0600);
  CHECK(ModeOf(written->public_path) == 0644);
  auto secret = ReadCurveSecretCertificate(written->secret_path);
  REQUIRE(secret.ok());
  CHECK(secret->name == "strategy-a");
  CHECK(secret->public_key == written->public_key);
  auto pub = ReadCurveCertificate(written->public_path);
  REQUIRE(pub.ok());
  CHECK(pub->public_key == written->public_key);
  CHECK(pub->secret_key.empty());

  auto again = WriteCurveCertificatePair(dir, "strategy-a");
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == absl::StatusCode::kAlreadyExists);
  auto reread = ReadCurveCertificate(written->public_path);
  REQUIRE(reread.ok());
  CHECK(reread->public_key == written->public_key);  // untouched

  for (const char* bad : {"", "a/b", "../x", "name with space", "é"}) {
    INFO(bad);
    CHECK(WriteCurveCertificatePair(dir, bad).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
  CHECK(WriteCurveCertificatePair(dir, std::string(65, 'a')).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(WriteCurveCertificatePair(dir, std::string(64, 'a')).ok());
}

TEST_CASE("A secret certificate readable by group or others is refused, naming its mode and chmod",
          "[transport]") {
  TempDir tmp;
  const std::string text = std::string("curve\n    public-key = \"") + kPublic +
                           "\"\n    secret-key = \"" + kSecret + "\"\n";
  const std::string open_file = tmp.File("gw.key_secret", text, 0644);
  auto refused = ReadCurveSecretCertificate(open_file);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kPermissionDenied);
  const std::string msg(refused.status().message());
  CHECK(msg.find(open_file) != std::string::npos);
  CHECK(msg.find("0644") != std::string::npos);
  CHECK(msg.find("chmod 600") != std::string::npos);
  CHECK(ReadCurveSecretCertificate(tmp.File("g.key_secret", text, 0640)).status().code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(ReadCurveSecretCertificate(tmp.File("ok.key_secret", text, 0600)).ok());
  // A public certificate where the secret one is expected.
  const std::string pub = tmp.File("pub.key", kCzmqPublic, 0600);
  CHECK(ReadCurveSecretCertificate(pub).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ReadCurveSecretCertificate(tmp.path + "/missing").status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE(
    "The allowlist reads every public certificate of its directory, skipping secret and "
    "hidden files",
    "[transport]") {
  TempDir tmp;
  tmp.File("strategy-a.key", kCzmqPublic);
  tmp.File("strategy-a.key_secret", "not even ZPL", 0600);
  tmp.File(".hidden", "not even ZPL");
  REQUIRE(mkdir((tmp.path + "/subdir").c_str(), 0700) == 0);
  tmp.File("b.key", std::string("metadata\n    name = strategy-b\ncurve\n    public-key = \"") +
                        kOtherPublic + "\"\n");
  auto list = LoadCurveAllowlist(tmp.path);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].name == "strategy-b");  // b.key sorts first
  CHECK((*list)[0].public_key == kOtherPublic);
  CHECK((*list)[1].name == "strategy-a");
  CHECK((*list)[1].public_key == kPublic);
  CHECK(LoadCurveAllowlist(tmp.path + "/none").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE(
    "The allowlist refuses a certificate without a name, two with one name or one key, and "
    "a secret key",
    "[transport]") {
  const std::string pub_a = std::string("curve\n    public-key = \"") + kPublic + "\"\n";
  const std::string pub_b = std::string("curve\n    public-key = \"") + kOtherPublic + "\"\n";
  const auto refusal = [](const TempDir& tmp) {
    auto list = LoadCurveAllowlist(tmp.path);
    REQUIRE_FALSE(list.ok());
    CHECK(list.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(list.status().message());
  };
  {
    TempDir tmp;
    const std::string f = tmp.File("anon.key", pub_a);
    const std::string msg = refusal(tmp);
    CHECK(msg.find(f) != std::string::npos);
    CHECK(msg.find("no metadata name") != std::string::npos);
  }
  {
    TempDir tmp;
    tmp.File("a.key", "metadata\n    name = same\n" + pub_a);
    tmp.File("b.key", "metadata\n    name = same\n" + pub_b);
    const std::string msg = refusal(tmp);
    CHECK(msg.find("a.key") != std::string::npos);
    CHECK(msg.find("b.key") != std::string::npos);
    CHECK(msg.find("both name the client \"same\"") != std::string::npos);
  }
  {
    TempDir tmp;
    tmp.File("a.key", "metadata\n    name = one\n" + pub_a);
    tmp.File("b.key", "metadata\n    name = two\n" + pub_a);
    CHECK(refusal(tmp).find("the same public key") != std::string::npos);
  }
  {
    TempDir tmp;
    tmp.File("a.key",
             "metadata\n    name = one\n" + pub_a + "    secret-key = \"" + kSecret + "\"\n");
    CHECK(refusal(tmp).find("holds a secret-key") != std::string::npos);
  }
  {
    TempDir tmp;
    tmp.File("a.key", "metadata\n    name = \"bad name\"\n" + pub_a);
    CHECK(refusal(tmp).find("must be 1..64 characters") != std::string::npos);
  }
  {
    TempDir tmp;
    const std::string f = tmp.File("broken.key", "metadata\n  name = x\n" + pub_a);
    CHECK(refusal(tmp).rfind(f + ":2:", 0) == 0);
  }
}

}  // namespace
}  // namespace ordergate::transport
