#include "tests/support/temp_dir.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace ordergate::test_support {

std::string MakeTempDir(std::string_view prefix) {
  const char* t = std::getenv("TMPDIR");
  const std::string root = (t != nullptr && *t != '\0') ? std::string(t) : std::string("/tmp");
  const std::string tmpl = root + "/" + std::string(prefix) + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  return buf.data();
}

TempDir::TempDir(std::string_view prefix) : path_(MakeTempDir(prefix)) {}

TempDir::~TempDir() {
  if (std::getenv("ORDERGATE_E2E_KEEP") != nullptr) {
    std::fprintf(stderr, "test: keeping %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ordergate::test_support
