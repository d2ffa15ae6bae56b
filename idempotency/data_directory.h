// The store's data directory outside RocksDB: who holds it, and creating it so that a failed start
// can take back exactly what it created and nothing else. Internal to idempotency/ (used by
// RocksDbStore::Open() and its destructor); no rocksdb:: type appears here.
//
//   if (absl::Status free = CheckNotInUse(dir); !free.ok()) return free;  // another holds LOCK
//   absl::StatusOr<CreatedDirectories> created = CreateDataDirectory(dir);
//   ... on a failed open, once RocksDB has closed it:
//   RemoveCreatedDirectories(*created);  // no-op when dir existed before
//
// Who holds the directory: RocksDB locks <dir>/LOCK with a POSIX record lock (fcntl F_SETLK)
// for as long as the store is open. The holder's pid is read from /proc/locks (the kernel's table
// of held locks, matched by the LOCK file's device and inode), not from a pid file: the kernel
// drops a lock when its process dies, so a pid named here is always a live holder, and a crashed
// gateway can never be misreported as running. The LOCK file itself is never opened for the check:
// closing any descriptor of a file drops every POSIX lock this process holds on it, which would
// silently unlock a store open in this process.
#ifndef ORDERGATE_IDEMPOTENCY_DATA_DIRECTORY_H_
#define ORDERGATE_IDEMPOTENCY_DATA_DIRECTORY_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ordergate::idempotency::internal {

// Who holds <dir>/LOCK, as /proc/locks lists it.
struct LockHolder {
  pid_t pid = 0;     // 0: held, but by a process whose pid is not visible here (another pid
                     // namespace) or through an open-file-description lock, which has no pid
  std::string name;  // /proc/<pid>/comm ("ordergated"), empty when unknown
};

// The holder of <dir>/LOCK, or nullopt when /proc/locks lists none (nobody holds it, there is no
// LOCK file, or /proc/locks cannot be read: RocksDB's own lock then still refuses a second open).
// Blocks on reading /proc/locks (one small procfs file). Thread-safe.
std::optional<LockHolder> FindLockHolder(const std::string& dir);

// The status for a data directory whose LOCK another process (or this one) holds: kUnavailable,
// since the directory is free again once its holder stops (a supervisor's retry then succeeds):
//   "RocksDbStore: data directory DIR is in use by another ordergated (pid N) ..."
// naming the holder's program ("another process" when unknown) and pid when known.
absl::Status InUseError(const std::string& dir, const std::optional<LockHolder>& holder);

// OK, or InUseError() when FindLockHolder() finds a holder.
absl::Status CheckNotInUse(const std::string& dir);

// The directories CreateDataDirectory() made, outermost first; empty when `dir` already existed.
struct CreatedDirectories {
  std::vector<std::string> paths;
  bool created() const { return !paths.empty(); }
};

// Creates `dir` and any missing parent (mode 0777 less the umask, as mkdir -p), recording which of
// them did not exist before. A component that another process creates at the same moment is not
// recorded (not ours). Durable on return: the parent of every directory it created is fsynced
// (of `dir` itself when nothing was created), so a power cut cannot take the data directory back
// with the records later acknowledged in it. kUnavailable, with a message, when a component
// cannot be created or a parent's fsync fails; what was created before the failure is removed
// again. Blocks on a few mkdir and fsync calls.
absl::StatusOr<CreatedDirectories> CreateDataDirectory(const std::string& dir);

// Takes back what CreateDataDirectory() created, once the store in it is closed, and never
// anything else: nothing at all when the directory existed before. The innermost directory
// (created empty by us, holding only what this store wrote) is emptied while this process holds
// an open-file-description lock on its LOCK, so that a RocksDB of another process cannot open it
// meanwhile; when its LOCK is held by anyone (or cannot be locked), nothing is removed. Its
// parents are removed only while empty (rmdir). Errors are ignored: a directory left behind
// holds nothing of value. Blocks on unlink/rmdir calls.
void RemoveCreatedDirectories(const CreatedDirectories& created);

}  // namespace ordergate::idempotency::internal

#endif  // ORDERGATE_IDEMPOTENCY_DATA_DIRECTORY_H_
