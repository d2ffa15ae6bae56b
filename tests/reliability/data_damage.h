// The nemesis run's data-directory damage (issue 9, finding 1): the ways an outside probe damaged a
// stopped gateway's RocksDB directory, and the operator's backup and restore around them.
// Blocking file I/O; not thread-safe against a process using the directory (the gateway must be
// stopped).
#pragma once

#include <string>

namespace nemesis {

enum class DamageKind : int {
  kWalTruncatedHalf = 0,  // the newest WAL with data cut to half its size
  kBytesFlipped,          // 16 bytes inverted a third of the way into that WAL
  kZeroed4KiB,            // 4 KiB zeroed a third of the way into that WAL
  kWalDeleted,            // that WAL deleted
  kManifestTruncatedHalf  // the MANIFEST named by CURRENT cut to half its size
};
constexpr int kDamageKinds = 5;
const char* DamageName(DamageKind kind);

// Damages the RocksDB directory `dir` as `kind` says. Returns what was done ("000012.log: 20733 ->
// 10366 bytes"); a WAL damage with no WAL holding data damages the newest table file instead and
// says so. On failure, returns a text starting with "cannot".
std::string DamageDataDir(const std::string& dir, DamageKind kind);

// Copies the regular files of `from` into `to` (created, emptied first). False with `error` set on
// any failure.
bool BackUpDir(const std::string& from, const std::string& to, std::string* error);
// Empties `dir` (kept: it may be a mount point) and copies the files of `backup` back into it.
bool RestoreDir(const std::string& backup, const std::string& dir, std::string* error);

}  // namespace nemesis
