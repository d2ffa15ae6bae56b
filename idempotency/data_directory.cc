#include "idempotency/data_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace ordergate::idempotency::internal {
namespace {

constexpr char kLockFile[] = "LOCK";

std::string LockPath(const std::string& dir) { return absl::StrCat(dir, "/", kLockFile); }

// The program name of `pid` (/proc/<pid>/comm, one line), empty when unknown.
std::string ProgramName(pid_t pid) {
  std::ifstream comm(absl::StrCat("/proc/", pid, "/comm"));
  std::string name;
  if (!comm || !std::getline(comm, name)) return {};
  return name;
}

// One line of /proc/locks, e.g. "1: POSIX  ADVISORY  WRITE 4242 08:02:131090 0 EOF" (a waiter's
// line has "->" after the number). The device is "major:minor" in hex, the inode in decimal.
// Returns the holder's pid (0 when the kernel shows none, e.g. -1 for an OFD lock) when the line
// is a held lock on (major, minor, inode).
std::optional<pid_t> HolderOf(absl::string_view line, unsigned major_id, unsigned minor_id,
                              ino_t inode) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (fields.size() < 6 || fields[1] == "->") return std::nullopt;
  // fields: [0] "N:", [1] type, [2] ADVISORY/MANDATORY, [3] READ/WRITE, [4] pid, [5] dev:inode
  std::vector<absl::string_view> where = absl::StrSplit(fields[5], ':');
  uint64_t maj = 0, min = 0, ino = 0;
  if (where.size() != 3 || !absl::SimpleHexAtoi(where[0], &maj) ||
      !absl::SimpleHexAtoi(where[1], &min) || !absl::SimpleAtoi(where[2], &ino)) {
    return std::nullopt;
  }
  if (maj != major_id || min != minor_id || ino != static_cast<uint64_t>(inode)) {
    return std::nullopt;
  }
  int64_t pid = 0;
  if (!absl::SimpleAtoi(fields[4], &pid) || pid <= 0) return pid_t{0};
  return static_cast<pid_t>(pid);
}

// fsync of the directory `path`, so that the entries made in it are durable. A directory this
// process may not open (search permission only) is left as it is: nothing of ours can be synced
// there. Returns false, errno set, when the fsync itself fails.
bool SyncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno == EACCES || errno == EPERM;
  const bool ok = ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

}  // namespace

std::optional<LockHolder> FindLockHolder(const std::string& dir) {
  struct stat st;
  if (::stat(LockPath(dir).c_str(), &st) != 0) return std::nullopt;
  std::ifstream locks("/proc/locks");
  if (!locks) return std::nullopt;
  std::optional<LockHolder> found;
  for (std::string line; std::getline(locks, line);) {
    const std::optional<pid_t> pid = HolderOf(line, major(st.st_dev), minor(st.st_dev), st.st_ino);
    if (!pid) continue;
    // Prefer a line with a pid: one process may show several (RocksDB locks the whole file once).
    if (!found || found->pid == 0) found = LockHolder{*pid, *pid > 0 ? ProgramName(*pid) : ""};
  }
  return found;
}

absl::Status InUseError(const std::string& dir, const std::optional<LockHolder>& holder) {
  if (holder && holder->pid == ::getpid()) {
    return absl::UnavailableError(absl::StrCat("RocksDbStore: data directory ", dir,
                                               " is already open in this process (pid ",
                                               holder->pid, "): close that store first"));
  }
  std::string who = "another process";
  if (holder && !holder->name.empty()) who = absl::StrCat("another ", holder->name);
  const std::string pid =
      holder && holder->pid > 0 ? absl::StrCat(" (pid ", holder->pid, ")") : " (pid not known)";
  return absl::UnavailableError(absl::StrCat(
      "RocksDbStore: data directory ", dir, " is in use by ", who, pid, ", which holds ",
      LockPath(dir), ": stop it first, or give this one a data directory of its own"));
}

absl::Status CheckNotInUse(const std::string& dir) {
  std::optional<LockHolder> holder = FindLockHolder(dir);
  if (!holder) return absl::OkStatus();
  return InUseError(dir, holder);
}

absl::StatusOr<CreatedDirectories> CreateDataDirectory(const std::string& dir) {
  // The components from the outermost missing one down to `dir`.
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (std::filesystem::path p = std::filesystem::path(dir).lexically_normal(); !p.empty();
       p = p.parent_path()) {
    if (p.filename().empty()) {  // "a/b/" normalises to "a/b/": step to "a/b"
      if (p == p.parent_path()) break;
      continue;
    }
    if (std::filesystem::exists(p, ec) || ec) break;
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  CreatedDirectories created;
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0777) == 0) {
      created.paths.push_back(it->string());
    } else if (errno != EEXIST) {
      const std::string why = std::strerror(errno);
      RemoveCreatedDirectories(created);
      return absl::UnavailableError(
          absl::StrCat("RocksDbStore: cannot create data directory ", it->string(), ": ", why));
    }
  }
  // A new directory's entry is durable only once its parent is fsynced (POSIX; RocksDB syncs the
  // data directory itself, never its parent). Without this, a power cut soon after the first
  // start took the whole data directory, with every record acknowledged in it, back: the next
  // start opened a new, empty store, and every retried order executed again
  // (tests/reliability/power_loss). The parent of `dir` is synced even when nothing was created:
  // an operator's `mkdir -p` just before the first start is no more durable than ours.
  std::vector<std::string> parents;
  for (const std::string& p : created.paths) {
    parents.push_back(std::filesystem::path(p).parent_path().string());
  }
  if (!created.created()) {
    parents.push_back(std::filesystem::path(dir).lexically_normal().parent_path().string());
  }
  for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
    const std::string parent = it->empty() ? "." : *it;
    if (!SyncDirectory(parent)) {
      const std::string why = std::strerror(errno);
      RemoveCreatedDirectories(created);
      return absl::UnavailableError(absl::StrCat("RocksDbStore: cannot make data directory ", dir,
                                                 " durable (fsync of ", parent, "): ", why));
    }
  }
  return created;
}

void RemoveCreatedDirectories(const CreatedDirectories& created) {
  if (!created.created()) return;
  const std::string& leaf = created.paths.back();
  // Emptied only while nobody holds its LOCK, and while this process holds it (an OFD lock, which
  // conflicts with RocksDB's POSIX lock in any other process): entries are listed first, then
  // unlinked, LOCK last, so a RocksDB opening the directory meanwhile finds it locked.
  if (FindLockHolder(leaf)) return;
  const int lock_fd = ::open(LockPath(leaf).c_str(), O_RDWR | O_CLOEXEC);
  if (lock_fd >= 0) {
    struct flock whole = {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    if (::fcntl(lock_fd, F_OFD_SETLK, &whole) != 0) {
      ::close(lock_fd);
      return;
    }
  } else if (errno != ENOENT) {
    return;
  }
  std::vector<std::string> files;
  if (DIR* d = ::opendir(leaf.c_str()); d != nullptr) {
    while (const dirent* e = ::readdir(d)) {
      const absl::string_view name = e->d_name;
      if (name == "." || name == ".." || name == kLockFile) continue;
      files.emplace_back(name);
    }
    ::closedir(d);
  }
  for (const std::string& name : files) {
    ::unlink(absl::StrCat(leaf, "/", name).c_str());  // a subdirectory stays: rmdir then fails
  }
  if (lock_fd >= 0) {
    ::unlink(LockPath(leaf).c_str());
    ::close(lock_fd);
  }
  for (auto it = created.paths.rbegin(); it != created.paths.rend(); ++it) {
    if (::rmdir(it->c_str()) != 0) return;  // not empty: someone else's now
  }
}

}  // namespace ordergate::idempotency::internal
