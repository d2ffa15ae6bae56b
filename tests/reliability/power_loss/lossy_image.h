// The power-loss file system's contents (ordergate-lossyfs, lossyfs.cc): a tree of files and
// directories in memory, each with what a program sees now and what a disk would still hold after
// a power cut. Plain C++ (no FUSE), so the rules are tested on their own (lossy_image_test.cc).
//
// The rules, strict POSIX as Jepsen's LazyFS models them:
//   - a file's bytes and size become durable when the file is fsynced (fsync or fdatasync): its
//     content at that moment, whole;
//   - a directory's entries (a create, mkdir, rename, unlink, rmdir in it) become durable when
//     the directory itself is fsynced (fsyncdir). Until then a cut takes them back: a new file
//     vanishes even if its bytes were fsynced, a renamed file is back under its old name, an
//     unlinked one is back (with its durable bytes).
//   - Lenient (DirSync::kLenient, like ext4 in practice, whose journal commit carries the
//     metadata along): a file's fsync also makes the entries on its own path durable, from the
//     root down to the file.
// Cut() is the power cut: every file goes back to its durable bytes, every directory to its
// durable entries; whatever is no longer reachable from the root is gone.
//
// Not thread-safe: the file system holds one lock around every call. Every call returns 0 or a
// negative errno, as FUSE answers.
#ifndef ORDERGATE_TESTS_RELIABILITY_POWER_LOSS_LOSSY_IMAGE_H_
#define ORDERGATE_TESTS_RELIABILITY_POWER_LOSS_LOSSY_IMAGE_H_

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace ordergate::lossyfs {

enum class DirSync { kStrict, kLenient };

struct NodeStat {
  uint64_t ino = 0;
  bool dir = false;
  uint32_t mode = 0;  // permission bits only
  uint64_t size = 0;
  uint32_t nlink = 1;
  timespec mtime{};
  timespec ctime{};
};

// What a cut threw away.
struct CutReport {
  uint64_t files_reverted = 0;    // files whose bytes or size differed from their durable ones
  uint64_t bytes_lost = 0;        // bytes of those files not durable (written, never fsynced)
  uint64_t entries_reverted = 0;  // directory entries added, removed or renamed, never fsynced
  uint64_t nodes_dropped = 0;     // files and directories no longer reachable
};

class Image {
 public:
  static constexpr uint64_t kRootIno = 1;

  explicit Image(DirSync dir_sync);

  // Path calls: `path` is absolute ("/", "/data/LOCK"), as FUSE passes it.
  int Lookup(const std::string& path, uint64_t* ino) const;
  // A new file (or, unless `exclusive`, the existing one); `*created` says which.
  int Create(const std::string& path, uint32_t mode, bool exclusive, uint64_t* ino, bool* created);
  int Mkdir(const std::string& path, uint32_t mode);
  int Unlink(const std::string& path);
  int Rmdir(const std::string& path);
  // `no_replace`: RENAME_NOREPLACE. A directory may replace only an empty directory.
  int Rename(const std::string& from, const std::string& to, bool no_replace);

  // Inode calls: `ino` from Lookup/Create (an open file keeps its inode after an unlink).
  int Stat(uint64_t ino, NodeStat* out) const;
  int Read(uint64_t ino, char* buf, size_t size, off_t offset, size_t* read) const;
  int Write(uint64_t ino, const char* buf, size_t size, off_t offset);
  int Truncate(uint64_t ino, off_t size);
  // mode 0 grows the file to offset + length; FALLOC_FL_KEEP_SIZE reserves nothing that could
  // be seen; any other mode (punching holes) is EOPNOTSUPP.
  int Allocate(uint64_t ino, int mode, off_t offset, off_t length);
  int SetMode(uint64_t ino, uint32_t mode);
  int SetTimes(uint64_t ino, const timespec& mtime);
  int List(uint64_t ino, std::vector<std::pair<std::string, NodeStat>>* out) const;
  // fsync/fdatasync of a file. `path` (may be empty for an unlinked file) is used in lenient mode.
  int SyncFile(uint64_t ino, const std::string& path);
  // fsync of a directory.
  int SyncDir(uint64_t ino);

  CutReport Cut();

  uint64_t node_count() const { return nodes_.size(); }
  uint64_t bytes() const;

 private:
  struct Node {
    uint64_t ino = 0;
    bool dir = false;
    uint32_t mode = 0644;
    std::string data;     // file: what a reader sees now
    std::string durable;  // file: what survives a cut
    // file: [dirty_begin, dirty_end) changed since the last sync; empty when begin >= end
    uint64_t dirty_begin = UINT64_MAX;
    uint64_t dirty_end = 0;
    std::map<std::string, uint64_t> entries;          // dir: now
    std::map<std::string, uint64_t> durable_entries;  // dir: what survives a cut
    timespec mtime{};
    timespec ctime{};
  };

  Node* Find(uint64_t ino) const;
  // The directory holding the last component of `path`, and that component's name.
  int Parent(const std::string& path, Node** dir, std::string* name) const;
  Node* NewNode(bool dir, uint32_t mode);
  static void Touch(Node* n);
  static void MarkDirty(Node* n, uint64_t begin, uint64_t end);

  DirSync dir_sync_;
  uint64_t next_ino_ = kRootIno + 1;
  std::unordered_map<uint64_t, std::unique_ptr<Node>> nodes_;
};

}  // namespace ordergate::lossyfs

#endif  // ORDERGATE_TESTS_RELIABILITY_POWER_LOSS_LOSSY_IMAGE_H_
