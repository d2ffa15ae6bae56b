// The power-loss file system's rules (lossy_image.h), without FUSE: what a cut keeps and drops.
#include "tests/reliability/power_loss/lossy_image.h"

#include <fcntl.h>
#include <linux/falloc.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

namespace {

using ordergate::lossyfs::CutReport;
using ordergate::lossyfs::DirSync;
using ordergate::lossyfs::Image;

uint64_t MustCreate(Image& image, const std::string& path) {
  uint64_t ino = 0;
  bool created = false;
  REQUIRE(image.Create(path, 0644, true, &ino, &created) == 0);
  REQUIRE(created);
  return ino;
}

std::string Contents(const Image& image, const std::string& path) {
  uint64_t ino = 0;
  if (image.Lookup(path, &ino) != 0) return "<absent>";
  std::string out(4096, '\0');
  size_t got = 0;
  REQUIRE(image.Read(ino, out.data(), out.size(), 0, &got) == 0);
  out.resize(got);
  return out;
}

void Write(Image& image, uint64_t ino, const std::string& data, off_t offset) {
  REQUIRE(image.Write(ino, data.data(), data.size(), offset) == 0);
}

uint64_t Ino(const Image& image, const std::string& path) {
  uint64_t ino = 0;
  REQUIRE(image.Lookup(path, &ino) == 0);
  return ino;
}

TEST_CASE("A cut keeps a file's fsynced bytes and drops what was written after the fsync",
          "[lossyfs]") {
  Image image(DirSync::kStrict);
  const uint64_t f = MustCreate(image, "/wal");
  REQUIRE(image.SyncDir(Image::kRootIno) == 0);
  Write(image, f, "reserved;", 0);
  REQUIRE(image.SyncFile(f, "/wal") == 0);
  Write(image, f, "filled;", 9);
  Write(image, f, "R", 0);  // overwritten in place, never synced
  CHECK(Contents(image, "/wal") == "Reserved;filled;");
  const CutReport r = image.Cut();
  CHECK(Contents(image, "/wal") == "reserved;");
  CHECK(r.files_reverted == 1);
  CHECK(r.bytes_lost == 8);
}

TEST_CASE("Under strict rules a new file whose directory was never fsynced is gone after a cut",
          "[lossyfs]") {
  Image image(DirSync::kStrict);
  REQUIRE(image.Mkdir("/data", 0755) == 0);
  const uint64_t f = MustCreate(image, "/data/mark");
  Write(image, f, "42", 0);
  REQUIRE(image.SyncFile(f, "/data/mark") == 0);
  REQUIRE(image.SyncDir(Ino(image, "/data")) == 0);  // the file's entry, not the directory's own
  image.Cut();
  CHECK(Contents(image, "/data/mark") == "<absent>");
  uint64_t ino = 0;
  CHECK(image.Lookup("/data", &ino) == -ENOENT);
}

TEST_CASE("Under lenient rules a file's fsync makes the entries on its path durable", "[lossyfs]") {
  Image image(DirSync::kLenient);
  REQUIRE(image.Mkdir("/data", 0755) == 0);
  const uint64_t f = MustCreate(image, "/data/mark");
  Write(image, f, "42", 0);
  REQUIRE(image.SyncFile(f, "/data/mark") == 0);
  const uint64_t other = MustCreate(image, "/data/other");  // never synced
  Write(image, other, "x", 0);
  image.Cut();
  CHECK(Contents(image, "/data/mark") == "42");
  CHECK(Contents(image, "/data/other") == "<absent>");
}

TEST_CASE("A rename and an unlink are undone by a cut until their directory is fsynced",
          "[lossyfs]") {
  Image image(DirSync::kStrict);
  const uint64_t current = MustCreate(image, "/CURRENT");
  Write(image, current, "MANIFEST-1\n", 0);
  REQUIRE(image.SyncFile(current, "/CURRENT") == 0);
  const uint64_t tmp = MustCreate(image, "/CURRENT.tmp");
  Write(image, tmp, "MANIFEST-2\n", 0);
  REQUIRE(image.SyncFile(tmp, "/CURRENT.tmp") == 0);
  REQUIRE(image.SyncDir(Image::kRootIno) == 0);
  const uint64_t old_log = MustCreate(image, "/1.log");
  REQUIRE(image.SyncDir(Image::kRootIno) == 0);

  REQUIRE(image.Rename("/CURRENT.tmp", "/CURRENT", false) == 0);
  REQUIRE(image.Unlink("/1.log") == 0);
  CHECK(Contents(image, "/CURRENT") == "MANIFEST-2\n");
  image.Cut();
  CHECK(Contents(image, "/CURRENT") == "MANIFEST-1\n");
  CHECK(Contents(image, "/CURRENT.tmp") == "MANIFEST-2\n");
  CHECK(Ino(image, "/1.log") == old_log);

  REQUIRE(image.Rename("/CURRENT.tmp", "/CURRENT", false) == 0);
  REQUIRE(image.SyncDir(Image::kRootIno) == 0);
  image.Cut();
  CHECK(Contents(image, "/CURRENT") == "MANIFEST-2\n");
  CHECK(Contents(image, "/CURRENT.tmp") == "<absent>");
}

TEST_CASE("Truncation and allocation are durable only with the file's next fsync", "[lossyfs]") {
  Image image(DirSync::kStrict);
  const uint64_t f = MustCreate(image, "/log");
  REQUIRE(image.SyncDir(Image::kRootIno) == 0);
  Write(image, f, "abcdef", 0);
  REQUIRE(image.SyncFile(f, "/log") == 0);
  REQUIRE(image.Truncate(f, 2) == 0);
  REQUIRE(image.Allocate(f, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0);
  CHECK(image.Allocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2) == -EOPNOTSUPP);
  image.Cut();
  CHECK(Contents(image, "/log") == "abcdef");
  REQUIRE(image.Truncate(f, 2) == 0);
  Write(image, f, "XY", 4);
  REQUIRE(image.SyncFile(f, "/log") == 0);
  image.Cut();
  CHECK(Contents(image, "/log") == std::string("ab\0\0XY", 6));
}

}  // namespace
