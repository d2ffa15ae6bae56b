// Temporary directories for tests: one fresh directory per test, under $TMPDIR (or /tmp), so that
// suites may run in parallel. Thread-safe (mkdtemp picks a unique name).
#ifndef ORDERGATE_TESTS_SUPPORT_TEMP_DIR_H_
#define ORDERGATE_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace ordergate::test_support {

// Creates $TMPDIR/<prefix>XXXXXX (mkdtemp) and returns its path; the caller removes it (or leaves
// it to the OS's temp cleaning). Throws std::runtime_error when it cannot be created.
std::string MakeTempDir(std::string_view prefix);

// A fresh directory ($TMPDIR/<prefix>XXXXXX), removed with everything in it on destruction,
// unless ORDERGATE_E2E_KEEP is set (then its path is printed to stderr and it is kept, for
// debugging a failed test). Throws std::runtime_error when it cannot be created.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "ordergate-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

}  // namespace ordergate::test_support

#endif  // ORDERGATE_TESTS_SUPPORT_TEMP_DIR_H_
