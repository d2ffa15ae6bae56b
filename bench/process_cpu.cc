// CPU time of whole processes from /proc (see process_cpu.h).
#include "bench/process_cpu.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace ordergate::bench {
namespace {

// The fields of /proc/<pid>/stat after the command name, which is in parentheses and may hold
// spaces and parentheses itself (so the last ')' ends it). Field 3 (state) is fields[0].
bool StatFields(pid_t pid, std::vector<std::string>* fields) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return false;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 1));
  fields->clear();
  for (std::string f; rest >> f;) fields->push_back(std::move(f));
  return fields->size() >= 13;
}

}  // namespace

int64_t ProcessCpuNs(pid_t pid) {
  std::vector<std::string> f;
  if (pid <= 0 || !StatFields(pid, &f)) return -1;
  // proc(5): (14) utime and (15) stime in clock ticks, i.e. fields[11] and fields[12].
  char* end = nullptr;
  const unsigned long long utime = std::strtoull(f[11].c_str(), &end, 10);
  const unsigned long long stime = std::strtoull(f[12].c_str(), &end, 10);
  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  if (ticks_per_s <= 0) return -1;
  return static_cast<int64_t>((utime + stime) *
                              (1000000000ULL / static_cast<uint64_t>(ticks_per_s)));
}

pid_t FindChildProcess(std::string_view exe_name) {
  const pid_t self = getpid();
  std::error_code ec;
  std::vector<std::string> f;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stol(name));
    // proc(5): (4) ppid, i.e. fields[1].
    if (!StatFields(pid, &f) || std::strtol(f[1].c_str(), nullptr, 10) != self) continue;
    std::error_code link_ec;
    const auto exe = std::filesystem::read_symlink(it->path() / "exe", link_ec);
    if (!link_ec && exe.filename() == exe_name) return pid;
  }
  return -1;
}

void ProcessCpuWindow::Add(std::string role, std::string what, pid_t pid) {
  if (pid <= 0) return;
  ProcessCpuUse u;
  u.role = std::move(role);
  u.what = std::move(what);
  u.pid = pid;
  uses_.push_back(std::move(u));
}

void ProcessCpuWindow::Start(int64_t now_ns, int64_t finished) {
  start_cpu_ns_.clear();
  for (const ProcessCpuUse& u : uses_) start_cpu_ns_.push_back(ProcessCpuNs(u.pid));
  start_ns_ = now_ns;
  start_finished_ = finished;
  started_ = true;
}

void ProcessCpuWindow::Stop(int64_t now_ns, int64_t finished) {
  if (!started_ || stopped_) return;
  for (size_t i = 0; i < uses_.size(); ++i) {
    const int64_t now_cpu = ProcessCpuNs(uses_[i].pid);
    uses_[i].cpu_ns =
        now_cpu >= 0 && start_cpu_ns_[i] >= 0 ? now_cpu - start_cpu_ns_[i] : int64_t{-1};
  }
  window_ns_ = now_ns - start_ns_;
  orders_ = finished - start_finished_;
  stopped_ = true;
}

void ProcessCpuWindow::Fill(RunResult* r) const {
  if (!stopped_) return;
  r->cpu = uses_;
  r->cpu_window_ns = window_ns_;
  r->cpu_window_orders = orders_;
}

}  // namespace ordergate::bench
