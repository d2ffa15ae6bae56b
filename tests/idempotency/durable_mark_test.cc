// The durable mark's file (idempotency/durable_mark.h): one 512-byte block rewritten in place, v2
// (the sequence and the MANIFEST's number and durable size), the v1 line and the older unpadded
// form still read, damage anywhere in the block refused; and its writer, which moves the mark when
// the sequence or the MANIFEST moved.
#include "idempotency/durable_mark.h"

#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>

#include "tests/idempotency/test_util.h"

namespace {

namespace fs = std::filesystem;
namespace internal = ordergate::idempotency::internal;
using ordergate::idempotency::testing::DurableMarkLineV1;
using ordergate::idempotency::testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

internal::DurableMark Mark(uint64_t sequence, uint64_t manifest_number = 0,
                           uint64_t manifest_bytes = 0) {
  return internal::DurableMark{sequence, internal::ManifestState{manifest_number, manifest_bytes}};
}

internal::DurableMark ReadOrDie(const std::string& dir) {
  auto mark = internal::ReadDurableMark(dir);
  INFO(mark.status().ToString());
  REQUIRE(mark.ok());
  REQUIRE(mark->has_value());
  return **mark;
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
  REQUIRE(internal::WriteDurableMark(dir.db(), Mark(41, 5, 300)).ok());
  const ino_t first = Inode(path);
  CHECK(fs::file_size(path) == 512);
  for (uint64_t seq = 42; seq < 60; ++seq) {
    REQUIRE(internal::WriteDurableMark(dir.db(), Mark(seq, 5, 300 + seq)).ok());
  }
  CHECK(Inode(path) == first);  // the same file: no temp file, no rename
  CHECK(fs::file_size(path) == 512);
  CHECK(ReadOrDie(dir.db()) == Mark(59, 5, 359));
  // Nothing else in the directory: no temp file left beside it.
  CHECK(std::distance(fs::directory_iterator(dir.db()), fs::directory_iterator()) == 1);
}

TEST_CASE("a v2 mark holds the sequence and the MANIFEST's number and durable size, on one line",
          "[idempotency][mark]") {
  TempDir dir;
  fs::create_directories(dir.db());
  const std::string path = dir.db() + "/" + internal::kDurableMarkFile;
  REQUIRE(internal::WriteDurableMark(dir.db(), Mark(18446744073709551615ull, 19, 728)).ok());
  const std::string block = ReadAll(path);
  CHECK(block.rfind("ordergate-durable-mark v2 18446744073709551615 19 728 ", 0) == 0);
  CHECK(ReadOrDie(dir.db()) == Mark(18446744073709551615ull, 19, 728));
  REQUIRE(internal::WriteDurableMark(dir.db(), Mark(7)).ok());  // no MANIFEST recorded
  CHECK(ReadOrDie(dir.db()) == Mark(7));
}

TEST_CASE(
    "a v1 mark, in the older one-line form or in a block, reads with no MANIFEST part, and the "
    "next write makes it a v2 block",
    "[idempotency][mark]") {
  const bool padded = GENERATE(false, true);
  TempDir dir;
  fs::create_directories(dir.db());
  const std::string path = dir.db() + "/" + internal::kDurableMarkFile;
  std::string v1 = DurableMarkLineV1(1234);
  if (padded) v1.resize(512, '\0');
  WriteFile(path, v1);  // what a build before the MANIFEST part (or before the block) left
  CHECK(ReadOrDie(dir.db()) == Mark(1234));
  REQUIRE(internal::WriteDurableMark(dir.db(), Mark(1300, 3, 99)).ok());
  CHECK(fs::file_size(path) == 512);
  CHECK(ReadAll(path).rfind("ordergate-durable-mark v2 ", 0) == 0);
  CHECK(ReadOrDie(dir.db()) == Mark(1300, 3, 99));
}

TEST_CASE("a mark damaged in its line or in its padding reads as damaged, not as a number",
          "[idempotency][mark]") {
  TempDir dir;
  fs::create_directories(dir.db());
  const std::string path = dir.db() + "/" + internal::kDurableMarkFile;
  REQUIRE(internal::WriteDurableMark(dir.db(), Mark(777, 27, 7777)).ok());
  const std::string good = ReadAll(path);
  // The magic, the version, the sequence, the MANIFEST number, its size, the check, the newline,
  // the padding.
  for (const size_t at : {size_t{0}, size_t{24}, size_t{27}, size_t{31}, size_t{34}, size_t{40},
                          good.find('\n'), size_t{200}, size_t{511}}) {
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

TEST_CASE(
    "a v1 line with its sequence altered, or a v2 line given the v1 version, reads as damaged",
    "[idempotency][mark]") {
  TempDir dir;
  fs::create_directories(dir.db());
  const std::string path = dir.db() + "/" + internal::kDurableMarkFile;
  std::string v1 = DurableMarkLineV1(1234);
  v1[v1.find("1234")] = '9';
  WriteFile(path, v1);
  CHECK(internal::ReadDurableMark(dir.db()).status().code() == absl::StatusCode::kDataLoss);
  REQUIRE(internal::WriteDurableMark(dir.db(), Mark(1234, 2, 3)).ok());
  std::string v2 = ReadAll(path);
  v2[v2.find("v2")] = 'v';
  v2[v2.find("v2") + 1] = '1';
  WriteFile(path, v2);
  CHECK(internal::ReadDurableMark(dir.db()).status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("the mark writer rewrites the mark when only the MANIFEST moved", "[idempotency][mark]") {
  TempDir dir;
  fs::create_directories(dir.db());
  REQUIRE(internal::WriteDurableMark(dir.db(), Mark(10, 4, 100)).ok());
  std::atomic<uint64_t> manifest_bytes{100};
  internal::DurableMarkWriter writer(
      dir.db(), Mark(10, 4, 100),
      [&] {
        return std::optional<internal::ManifestState>(
            internal::ManifestState{4, manifest_bytes.load()});
      },
      /*period_ms=*/5);
  manifest_bytes = 250;  // a flush's edit; the sequence did not move
  internal::DurableMark read = ReadOrDie(dir.db());
  for (int i = 0; i < 400 && read.manifest.bytes != 250; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    read = ReadOrDie(dir.db());
  }
  CHECK(read == Mark(10, 4, 250));
  writer.Stop();
  CHECK(writer.written() == Mark(10, 4, 250));
}

TEST_CASE(
    "WriteNow writes the published sequence and the MANIFEST at once, after Stop too, writes "
    "nothing when neither moved, and keeps the MANIFEST part when the probe has no answer",
    "[idempotency][mark]") {
  TempDir dir;
  fs::create_directories(dir.db());
  const std::string path = dir.db() + "/" + internal::kDurableMarkFile;
  REQUIRE(internal::WriteDurableMark(dir.db(), Mark(10, 4, 100)).ok());
  std::optional<internal::ManifestState> manifest = internal::ManifestState{4, 100};
  internal::DurableMarkWriter writer(
      dir.db(), Mark(10, 4, 100), [&] { return manifest; }, /*period_ms=*/60'000);
  writer.Stop();  // only WriteNow() writes from here on
  writer.Publish(25);
  manifest = internal::ManifestState{6, 80};  // DB::Open started MANIFEST-000006
  REQUIRE(writer.WriteNow().ok());
  CHECK(ReadOrDie(dir.db()) == Mark(25, 6, 80));
  // Nothing moved: no write (the removed file is not written again).
  fs::remove(path);
  REQUIRE(writer.WriteNow().ok());
  CHECK_FALSE(fs::exists(path));
  // The probe has no answer: the sequence moves, the MANIFEST part stays what it was.
  manifest = std::nullopt;
  writer.Publish(30);
  REQUIRE(writer.WriteNow().ok());
  CHECK(ReadOrDie(dir.db()) == Mark(30, 6, 80));
  // An older sequence published late never moves the mark back.
  writer.Publish(20);
  REQUIRE(writer.WriteNow().ok());
  CHECK(ReadOrDie(dir.db()).sequence == 30);
}
