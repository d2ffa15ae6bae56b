// The nemesis run's environment (see nemesis_test.cc): the data directory's tmpfs (full disk), the
// simulator's counters, a pipelined DEALER for the final passes.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "nemesis_common.h"

namespace nemesis {

class TmpfsMount {
 public:
  explicit TmpfsMount(std::string dir, int size_mb) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    const std::string opts = "size=" + std::to_string(size_mb) + "m";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() { Unmount(); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  void Unmount() {
    if (!mounted_) return;
    Free();
    if (::umount2(dir_.c_str(), 0) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
    mounted_ = false;
  }
  // Writes a filler file until the filesystem refuses; returns the bytes written.
  int64_t Fill() {
    const int fd = ::open(Filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 0;
    std::vector<char> buf(1 << 20, 'x');
    int64_t total = 0;
    for (;;) {
      const ssize_t n = ::write(fd, buf.data(), buf.size());
      if (n <= 0) break;
      total += n;
    }
    // Smaller writes take the last pages, so nothing at all is left.
    for (;;) {
      const ssize_t n = ::write(fd, buf.data(), 4096);
      if (n <= 0) break;
      total += n;
    }
    ::close(fd);
    return total;
  }
  void Free() { ::unlink(Filler().c_str()); }

 private:
  // RocksDB ignores files whose names it does not know.
  std::string Filler() const { return dir_ + "/nemesis-filler"; }
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// "key=value key=value" counters of the simulator's last stderr line.
inline std::map<std::string, int64_t> SimStats(const std::string& stderr_text) {
  std::map<std::string, int64_t> out;
  const std::string prefix = "ordergate-bridge-sim: requests=";
  const size_t pos = stderr_text.rfind(prefix);
  if (pos == std::string::npos) return out;
  std::istringstream in(stderr_text.substr(pos + std::strlen("ordergate-bridge-sim: ")));
  std::string tok;
  while (in >> tok) {
    const size_t eq = tok.find('=');
    if (eq == std::string::npos) break;
    out[tok.substr(0, eq)] = std::atoll(tok.c_str() + eq + 1);
  }
  return out;
}

inline double Percentile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

struct JournalLine {
  int64_t ticket = 0;
  int64_t time_us = 0;
  double volume = 0;
};

// Sends `bodies` over one DEALER with up to `window` outstanding; returns the replies by uuid
// (the last one for each), waiting up to `budget` in all.
inline std::map<std::string, Json> Pipeline(
    zmq::context_t& ctx, const std::string& endpoint,
    const std::vector<std::pair<std::string, std::string>>& bodies, size_t window, Ms budget) {
  DealerClient d(ctx, endpoint);
  std::map<std::string, Json> got;
  size_t next = 0;
  size_t outstanding = 0;
  const auto deadline = Clock::now() + budget;
  while ((next < bodies.size() || outstanding > 0) && Clock::now() < deadline) {
    while (next < bodies.size() && outstanding < window) {
      d.Send(bodies[next].second);
      ++next;
      ++outstanding;
    }
    auto r = d.RecvJson(Ms(200));
    if (!r) continue;
    --outstanding;
    got.insert_or_assign(r->S("uuid"), *r);
  }
  return got;
}

}  // namespace nemesis
