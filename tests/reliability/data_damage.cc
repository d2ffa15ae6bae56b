#include "data_damage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace nemesis {
namespace {

namespace fs = std::filesystem;

// RocksDB's numbered files ("000012.log", "000015.sst") of `ext` in `dir`, newest (highest
// number) first.
std::vector<fs::path> Numbered(const std::string& dir, const std::string& ext) {
  std::vector<std::pair<uint64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string name = e.path().filename().string();
    if (name.size() <= ext.size() || name.compare(name.size() - ext.size(), ext.size(), ext) != 0) {
      continue;
    }
    const std::string stem = name.substr(0, name.size() - ext.size());
    if (stem.empty() ||
        !std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    found.emplace_back(std::stoull(stem), e.path());
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

uint64_t SizeOf(const fs::path& p) {
  std::error_code ec;
  const uint64_t n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// The newest WAL holding data; else the newest table file; nullopt when neither exists.
std::optional<fs::path> WalOrTable(const std::string& dir, std::string* note) {
  for (const auto& p : Numbered(dir, ".log")) {
    if (SizeOf(p) > 0) return p;
  }
  for (const auto& p : Numbered(dir, ".sst")) {
    if (SizeOf(p) > 0) {
      *note = " (no WAL holds data: a table file instead)";
      return p;
    }
  }
  return std::nullopt;
}

std::string Describe(const fs::path& p) { return p.filename().string(); }

std::string Truncate(const fs::path& p, const std::string& note) {
  const uint64_t size = SizeOf(p);
  if (::truncate(p.c_str(), static_cast<off_t>(size / 2)) != 0) {
    return "cannot truncate " + p.string() + ": " + std::strerror(errno);
  }
  return Describe(p) + ": " + std::to_string(size) + " -> " + std::to_string(size / 2) + " bytes" +
         note;
}

// Rewrites `len` bytes at a third of the way in: inverted (flip) or zeroed.
std::string Overwrite(const fs::path& p, size_t len, bool flip, const std::string& note) {
  const uint64_t size = SizeOf(p);
  const uint64_t at = size / 3;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(len, size - at));
  const int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return "cannot open " + p.string() + ": " + std::strerror(errno);
  std::vector<char> buf(n, 0);
  bool ok = ::pread(fd, buf.data(), n, static_cast<off_t>(at)) == static_cast<ssize_t>(n);
  if (ok && flip) {
    for (char& c : buf) c = static_cast<char>(~c);
  } else if (ok) {
    std::fill(buf.begin(), buf.end(), 0);
  }
  ok = ok && ::pwrite(fd, buf.data(), n, static_cast<off_t>(at)) == static_cast<ssize_t>(n);
  ok = ::close(fd) == 0 && ok;
  if (!ok) return "cannot rewrite " + p.string() + ": " + std::strerror(errno);
  return Describe(p) + ": " + std::to_string(n) + " bytes " + (flip ? "inverted" : "zeroed") +
         " at offset " + std::to_string(at) + " of " + std::to_string(size) + note;
}

bool CopyFiles(const std::string& from, const std::string& to, std::string* error) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(from, ec)) {
    if (!e.is_regular_file(ec)) continue;
    fs::copy_file(e.path(), fs::path(to) / e.path().filename(),
                  fs::copy_options::overwrite_existing, ec);
    if (ec) {
      *error = "copy " + e.path().string() + ": " + ec.message();
      return false;
    }
  }
  if (ec) {
    *error = "list " + from + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace

const char* DamageName(DamageKind kind) {
  switch (kind) {
    case DamageKind::kWalTruncatedHalf:
      return "wal_truncated_half";
    case DamageKind::kBytesFlipped:
      return "wal_16_bytes_flipped";
    case DamageKind::kZeroed4KiB:
      return "wal_4k_zeroed";
    case DamageKind::kWalDeleted:
      return "wal_deleted";
    case DamageKind::kManifestTruncatedHalf:
      return "manifest_truncated_half";
  }
  return "?";
}

std::string DamageDataDir(const std::string& dir, DamageKind kind) {
  if (kind == DamageKind::kManifestTruncatedHalf) {
    std::ifstream in(dir + "/CURRENT");
    std::string name;
    if (!std::getline(in, name) || name.empty()) return "cannot read " + dir + "/CURRENT";
    return Truncate(fs::path(dir) / name, "");
  }
  std::string note;
  const std::optional<fs::path> target = WalOrTable(dir, &note);
  if (!target) return "cannot find a WAL or table file with data in " + dir;
  switch (kind) {
    case DamageKind::kWalTruncatedHalf:
      return Truncate(*target, note);
    case DamageKind::kBytesFlipped:
      return Overwrite(*target, 16, /*flip=*/true, note);
    case DamageKind::kZeroed4KiB:
      return Overwrite(*target, 4096, /*flip=*/false, note);
    default: {  // kWalDeleted
      const uint64_t size = SizeOf(*target);
      std::error_code ec;
      if (!fs::remove(*target, ec))
        return "cannot delete " + target->string() + ": " + ec.message();
      return Describe(*target) + " (" + std::to_string(size) + " bytes) deleted" + note;
    }
  }
}

bool BackUpDir(const std::string& from, const std::string& to, std::string* error) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to, ec);
  if (ec) {
    *error = "create " + to + ": " + ec.message();
    return false;
  }
  return CopyFiles(from, to, error);
}

bool RestoreDir(const std::string& backup, const std::string& dir, std::string* error) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    fs::remove_all(e.path(), ec);
    if (ec) {
      *error = "remove " + e.path().string() + ": " + ec.message();
      return false;
    }
  }
  return CopyFiles(backup, dir, error);
}

}  // namespace nemesis
