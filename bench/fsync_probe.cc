#include "bench/fsync_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bench/harness_clock.h"

namespace ordergate::bench {

std::pair<double, double> ProbeFsync(const std::string& dir) {
  const std::string path = dir + "/ordergate-bench-fsync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return {-1, -1};
  std::vector<char> block(4096, 'x');
  std::vector<int64_t> ns;
  ns.reserve(500);
  for (int i = 0; i < 500; ++i) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) break;
    const int64_t t0 = NowNs();
    if (::fdatasync(fd) != 0) break;
    ns.push_back(NowNs() - t0);
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (ns.size() < 500) return {-1, -1};
  std::sort(ns.begin(), ns.end());
  return {static_cast<double>(ns[ns.size() / 2]) / 1000.0,
          static_cast<double>(ns[ns.size() * 99 / 100]) / 1000.0};
}

}  // namespace ordergate::bench
