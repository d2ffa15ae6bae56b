// ordergate-lossyfs: a FUSE file system that loses, on a simulated power cut, whatever was not
// fsynced (the power-loss harness, power_loss_test.cc; issue 13). What is kept is lossy_image.h's
// rule; when the power goes, power_switch.h.
//
//   ordergate-lossyfs MOUNTPOINT --control SOCKET [--lenient]
//
// It prints "ordergate-lossyfs mounted MOUNTPOINT" on stdout once the kernel has mounted it, and
// serves the control socket (a UNIX stream socket, one line per command, one line per answer):
//   arm write|before-sync|after-sync N   -> "ok"
//   wait-frozen MS                       -> "frozen ..." or "timeout ..."
//   cut                                  -> "ok files_reverted=.. bytes_lost=.. entries_reverted=..
//                                            nodes_dropped=.."
//   power-on                             -> "ok"
//   stats                                -> "ok power=.. writes=.. syncs=.. blocked=.. ..."
//
// Nothing stale survives a cut in the kernel: every file is opened direct_io (reads and writes go
// to this process, never to the page cache), entries, attributes and negative lookups are cached
// for 0 s, so the next lookup after a cut asks again; the program that had the files open is
// killed before the cut (the harness kill -9s it while the disk is frozen), so no descriptor
// outlives the image it was opened on. That keeps one mount (and one process) for the whole run,
// which is cheaper than unmounting and mounting a durable image at every cut.
// fcntl locks (RocksDB's LOCK) are left to the kernel, which drops them when their holder dies.
// With -o auto_unmount, fusermount3 unmounts when this process dies, however it dies.
#define FUSE_USE_VERSION 35

#include <fuse.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/reliability/power_loss/lossy_image.h"
#include "tests/reliability/power_loss/power_switch.h"

namespace {

using ordergate::lossyfs::CutPoint;
using ordergate::lossyfs::CutReport;
using ordergate::lossyfs::DirSync;
using ordergate::lossyfs::Image;
using ordergate::lossyfs::NodeStat;
using ordergate::lossyfs::OpKind;
using ordergate::lossyfs::PowerSwitch;

struct State {
  std::mutex mu;  // the image
  Image* image = nullptr;
  PowerSwitch power;
  std::string mountpoint;
};
State* g = nullptr;

// One operation: passes the power switch, then holds the image's lock.
class Op {
 public:
  explicit Op(OpKind kind) {
    rc_ = g->power.Enter(kind, &freeze_after_);
    if (rc_ == 0) lock_ = std::unique_lock<std::mutex>(g->mu);
  }
  ~Op() {
    if (rc_ != 0) return;
    lock_.unlock();
    if (freeze_after_) g->power.FreezeAfter();
    g->power.Leave();
  }
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;
  int rc() const { return rc_; }
  Image& image() { return *g->image; }

 private:
  int rc_ = 0;
  bool freeze_after_ = false;
  std::unique_lock<std::mutex> lock_;
};

void Fill(const NodeStat& n, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_ino = n.ino;
  st->st_mode = (n.dir ? S_IFDIR : S_IFREG) | n.mode;
  st->st_nlink = n.nlink;
  st->st_size = static_cast<off_t>(n.size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>((n.size + 511) / 512);
  st->st_uid = ::getuid();
  st->st_gid = ::getgid();
  st->st_mtim = n.mtime;
  st->st_ctim = n.ctime;
  st->st_atim = n.mtime;
}

// The inode of an open file (fi->fh), or of `path`.
int InoOf(Op& op, const char* path, fuse_file_info* fi, uint64_t* ino) {
  if (fi != nullptr) {
    *ino = fi->fh;
    return 0;
  }
  if (path == nullptr) return -EBADF;
  return op.image().Lookup(path, ino);
}

void* Init(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->hard_remove = 1;  // an unlinked open file is not renamed to .fuse_hidden*
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->direct_io = 1;
  cfg->kernel_cache = 0;
  cfg->auto_cache = 0;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  std::printf("ordergate-lossyfs mounted %s\n", g->mountpoint.c_str());
  std::fflush(stdout);
  return nullptr;
}

int GetAttr(const char* path, struct stat* st, fuse_file_info* fi) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  uint64_t ino = 0;
  if (const int rc = InoOf(op, path, fi, &ino); rc != 0) return rc;
  NodeStat n;
  if (const int rc = op.image().Stat(ino, &n); rc != 0) return rc;
  Fill(n, st);
  return 0;
}

int Mkdir(const char* path, mode_t mode) {
  Op op(OpKind::kOther);
  return op.rc() != 0 ? op.rc() : op.image().Mkdir(path, mode);
}
int Unlink(const char* path) {
  Op op(OpKind::kOther);
  return op.rc() != 0 ? op.rc() : op.image().Unlink(path);
}
int Rmdir(const char* path) {
  Op op(OpKind::kOther);
  return op.rc() != 0 ? op.rc() : op.image().Rmdir(path);
}
int Rename(const char* from, const char* to, unsigned int flags) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  if ((flags & ~RENAME_NOREPLACE) != 0) return -EINVAL;
  return op.image().Rename(from, to, (flags & RENAME_NOREPLACE) != 0);
}

int Chmod(const char* path, mode_t mode, fuse_file_info* fi) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  uint64_t ino = 0;
  if (const int rc = InoOf(op, path, fi, &ino); rc != 0) return rc;
  return op.image().SetMode(ino, mode);
}
int Chown(const char*, uid_t, gid_t, fuse_file_info*) {
  Op op(OpKind::kOther);
  return op.rc();
}
int Utimens(const char* path, const timespec tv[2], fuse_file_info* fi) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  uint64_t ino = 0;
  if (const int rc = InoOf(op, path, fi, &ino); rc != 0) return rc;
  timespec t = tv[1];
  if (t.tv_nsec == UTIME_NOW || t.tv_nsec == UTIME_OMIT) ::clock_gettime(CLOCK_REALTIME, &t);
  return op.image().SetTimes(ino, t);
}
int Truncate(const char* path, off_t size, fuse_file_info* fi) {
  Op op(OpKind::kWrite);
  if (op.rc() != 0) return op.rc();
  uint64_t ino = 0;
  if (const int rc = InoOf(op, path, fi, &ino); rc != 0) return rc;
  return op.image().Truncate(ino, size);
}

int Open(const char* path, fuse_file_info* fi) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  uint64_t ino = 0;
  if (const int rc = op.image().Lookup(path, &ino); rc != 0) return rc;
  NodeStat n;
  op.image().Stat(ino, &n);
  if (n.dir) return -EISDIR;
  if ((fi->flags & O_TRUNC) != 0) op.image().Truncate(ino, 0);
  fi->fh = ino;
  fi->direct_io = 1;
  return 0;
}
int Create(const char* path, mode_t mode, fuse_file_info* fi) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  uint64_t ino = 0;
  bool created = false;
  const bool exclusive = (fi->flags & O_EXCL) != 0;
  if (const int rc = op.image().Create(path, mode, exclusive, &ino, &created); rc != 0) return rc;
  if (!created && (fi->flags & O_TRUNC) != 0) op.image().Truncate(ino, 0);
  fi->fh = ino;
  fi->direct_io = 1;
  return 0;
}
int Read(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  size_t got = 0;
  if (const int rc = op.image().Read(fi->fh, buf, size, offset, &got); rc != 0) return rc;
  return static_cast<int>(got);
}
int Write(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Op op(OpKind::kWrite);
  if (op.rc() != 0) return op.rc();
  if (const int rc = op.image().Write(fi->fh, buf, size, offset); rc != 0) return rc;
  return static_cast<int>(size);
}
int Flush(const char*, fuse_file_info*) {
  Op op(OpKind::kOther);
  return op.rc();
}
int Release(const char*, fuse_file_info*) { return 0; }  // nothing held per descriptor
int Fsync(const char* path, int, fuse_file_info* fi) {
  Op op(OpKind::kSync);
  if (op.rc() != 0) return op.rc();
  return op.image().SyncFile(fi->fh, path == nullptr ? "" : path);
}
int Fallocate(const char*, int mode, off_t offset, off_t length, fuse_file_info* fi) {
  Op op(OpKind::kWrite);
  if (op.rc() != 0) return op.rc();
  return op.image().Allocate(fi->fh, mode, offset, length);
}

int OpenDir(const char* path, fuse_file_info* fi) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  uint64_t ino = 0;
  if (const int rc = op.image().Lookup(path, &ino); rc != 0) return rc;
  NodeStat n;
  op.image().Stat(ino, &n);
  if (!n.dir) return -ENOTDIR;
  fi->fh = ino;
  return 0;
}
int ReadDir(const char*, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info* fi,
            fuse_readdir_flags) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  std::vector<std::pair<std::string, NodeStat>> entries;
  if (const int rc = op.image().List(fi->fh, &entries); rc != 0) return rc;
  filler(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  filler(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (const auto& [name, n] : entries) {
    struct stat st;
    Fill(n, &st);
    if (filler(buf, name.c_str(), &st, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
  }
  return 0;
}
int ReleaseDir(const char*, fuse_file_info*) { return 0; }
int FsyncDir(const char*, int, fuse_file_info* fi) {
  Op op(OpKind::kSync);
  if (op.rc() != 0) return op.rc();
  return op.image().SyncDir(fi->fh);
}
int StatFs(const char*, struct statvfs* st) {
  Op op(OpKind::kOther);
  if (op.rc() != 0) return op.rc();
  std::memset(st, 0, sizeof *st);
  const fsblkcnt_t total = 1u << 20;  // 4 GiB of 4 KiB blocks
  const fsblkcnt_t used = static_cast<fsblkcnt_t>(op.image().bytes() / 4096);
  st->f_bsize = st->f_frsize = 4096;
  st->f_blocks = total;
  st->f_bfree = st->f_bavail = used < total ? total - used : 0;
  st->f_files = 1u << 20;
  st->f_ffree = st->f_favail = (1u << 20) - op.image().node_count();
  st->f_namemax = 255;
  return 0;
}

// ------------------------------------------------------------------------------ the control socket

std::string Command(const std::string& line) {
  std::istringstream in(line);
  std::string verb, arg;
  uint64_t n = 0;
  in >> verb;
  if (verb == "arm") {
    in >> arg >> n;
    const CutPoint p = arg == "write"         ? CutPoint::kAtWrite
                       : arg == "before-sync" ? CutPoint::kBeforeSync
                       : arg == "after-sync"  ? CutPoint::kAfterSync
                                              : CutPoint::kNone;
    if (p == CutPoint::kNone || n == 0) return "error: arm write|before-sync|after-sync N";
    g->power.Arm(p, n);
    return "ok";
  }
  if (verb == "wait-frozen") {
    in >> n;
    const bool frozen = g->power.WaitFrozen(std::chrono::milliseconds(n));
    return std::string(frozen ? "frozen " : "timeout ") + g->power.Describe();
  }
  if (verb == "cut") {
    CutReport r;
    g->power.Cut([&] {
      std::lock_guard<std::mutex> lock(g->mu);
      r = g->image->Cut();
    });
    return "ok files_reverted=" + std::to_string(r.files_reverted) +
           " bytes_lost=" + std::to_string(r.bytes_lost) +
           " entries_reverted=" + std::to_string(r.entries_reverted) +
           " nodes_dropped=" + std::to_string(r.nodes_dropped);
  }
  if (verb == "power-on") {
    g->power.PowerOn();
    return "ok";
  }
  if (verb == "stats") return "ok " + g->power.Describe();
  return "error: unknown command '" + verb + "'";
}

void Serve(int listener) {
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    std::string buf;
    char chunk[256];
    for (;;) {
      const ssize_t got = ::read(fd, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      buf.append(chunk, static_cast<size_t>(got));
      for (size_t nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
        const std::string answer = Command(buf.substr(0, nl)) + "\n";
        buf.erase(0, nl + 1);
        if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) break;
      }
    }
    ::close(fd);
  }
}

int Listen(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char* argv[]) {
  std::string mountpoint, control;
  DirSync dir_sync = DirSync::kStrict;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--control" && i + 1 < argc) {
      control = argv[++i];
    } else if (a == "--lenient") {
      dir_sync = DirSync::kLenient;
    } else if (mountpoint.empty() && !a.empty() && a[0] != '-') {
      mountpoint = a;
    } else {
      std::fprintf(stderr, "ordergate-lossyfs: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (mountpoint.empty() || control.empty()) {
    std::fprintf(stderr, "usage: ordergate-lossyfs MOUNTPOINT --control SOCKET [--lenient]\n");
    return 2;
  }
  Image image(dir_sync);
  State state;
  state.image = &image;
  state.mountpoint = mountpoint;
  g = &state;
  const int listener = Listen(control);
  if (listener < 0) {
    std::fprintf(stderr, "ordergate-lossyfs: cannot listen on %s: %s\n", control.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::thread(Serve, listener).detach();

  fuse_operations ops{};
  ops.getattr = GetAttr;
  ops.mkdir = Mkdir;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.rename = Rename;
  ops.chmod = Chmod;
  ops.chown = Chown;
  ops.truncate = Truncate;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.statfs = StatFs;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.releasedir = ReleaseDir;
  ops.fsyncdir = FsyncDir;
  ops.init = Init;
  ops.create = Create;
  ops.utimens = Utimens;
  ops.fallocate = Fallocate;
  // -f: foreground (the harness owns this process); multi-threaded, so operations blocked by a
  // freeze do not stop the others from reaching the switch; auto_unmount: never a mount left
  // behind, even after a kill -9 of this process.
  std::vector<std::string> args = {argv[0], mountpoint, "-f", "-o",
                                   "auto_unmount,fsname=ordergate-lossyfs,subtype=lossyfs"};
  std::vector<char*> fuse_argv;
  for (std::string& a : args) fuse_argv.push_back(a.data());
  return fuse_main(static_cast<int>(fuse_argv.size()), fuse_argv.data(), &ops, nullptr);
}
