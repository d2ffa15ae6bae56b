// The durable mark's file (idempotency/durable_mark.h): one 512-byte block rewritten in place, the
// older one-line form still read, damage anywhere in the block refused.
#include "idempotency/durable_mark.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/idempotency/test_util.h"

namespace {

namespace fs = std::filesystem;
namespace internal = ordergate::idempotency::internal;
using ordergate::idempotency::testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

}  // namespace

TEST_CASE("a durable mark is one 512-byte block rewritten in place, never renamed",
          "[idempotency][mark]") {
  TempDir dir;
  fs::create_directories(dir.db());
  const std::string path = dir.db() + "/" + internal::kDurableMarkFile;
  REQUIRE(internal::WriteDurableMark(dir.db(), 41).ok());
  const ino_t first = Inode(path);
  CHECK(fs::file_size(path) == 512);
  for (uint64_t seq = 42; seq < 60; ++seq) REQUIRE(internal::WriteDurableMark(dir.db(), seq).ok());
  CHECK(Inode(path) == first);  // the same file: no temp file, no rename
  CHECK(fs::file_size(path) == 512);
  auto mark = internal::ReadDurableMark(dir.db());
  REQUIRE(mark.ok());
  REQUIRE(mark->has_value());
  CHECK(**mark == 59);
  // Nothing else in the directory: no temp file left beside it.
  CHECK(std::distance(fs::directory_iterator(dir.db()), fs::directory_iterator()) == 1);
}

TEST_CASE("a mark of the older one-line form is read, and the next write makes it a block",
          "[idempotency][mark]") {
  TempDir dir;
  fs::create_directories(dir.db());
  const std::string path = dir.db() + "/" + internal::kDurableMarkFile;
  REQUIRE(internal::WriteDurableMark(dir.db(), 1234).ok());
  const std::string block = ReadAll(path);
  const std::string line = block.substr(0, block.find('\n') + 1);
  WriteFile(path, line);  // what a build before the block form left
  auto old = internal::ReadDurableMark(dir.db());
  REQUIRE(old.ok());
  REQUIRE(old->has_value());
  CHECK(**old == 1234);
  REQUIRE(internal::WriteDurableMark(dir.db(), 1300).ok());
  CHECK(fs::file_size(path) == 512);
  CHECK(**internal::ReadDurableMark(dir.db()) == 1300);
}

TEST_CASE("a mark damaged in its line or in its padding reads as damaged, not as a number",
          "[idempotency][mark]") {
  TempDir dir;
  fs::create_directories(dir.db());
  const std::string path = dir.db() + "/" + internal::kDurableMarkFile;
  REQUIRE(internal::WriteDurableMark(dir.db(), 777).ok());
  const std::string good = ReadAll(path);
  for (const size_t at : {size_t{0}, size_t{30}, good.find('\n'), size_t{200}, size_t{511}}) {
    std::string bad = good;
    bad[at] = bad[at] == '7' ? '8' : '7';
    WriteFile(path, bad);
    INFO("byte " << at);
    auto mark = internal::ReadDurableMark(dir.db());
    REQUIRE_FALSE(mark.ok());
    CHECK(mark.status().code() == absl::StatusCode::kDataLoss);
  }
  WriteFile(path, good.substr(0, 300));  // a truncated block
  CHECK(internal::ReadDurableMark(dir.db()).status().code() == absl::StatusCode::kDataLoss);
}
