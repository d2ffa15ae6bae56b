// The power-loss run's environment (power_loss_test.cc): ordergate-lossyfs mounted for the run,
// its control socket, and durable file-system steps of the harness itself (an operator's).
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"

namespace power_loss {

using e2e::Ms;
using e2e::Process;

// Whether `dir` is a mount point now (/proc/self/mounts).
inline bool Mounted(const std::string& dir) {
  std::ifstream in("/proc/self/mounts");
  std::string dev, point, rest;
  while (in >> dev >> point && std::getline(in, rest)) {
    if (point == dir) return true;
  }
  return false;
}

// fsync of a file or directory by path (the harness's own durable steps).
inline bool SyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// ordergate-lossyfs on `mountpoint`, with its control socket; unmounted on destruction (SIGTERM:
// it unmounts itself; then umount2 MNT_DETACH if the mount is still there; auto_unmount covers a
// kill -9 of it or of this process).
class LossyMount {
 public:
  LossyMount(const std::string& bin_dir, std::string mountpoint, std::string control,
             const std::string& stderr_file, bool lenient)
      : mountpoint_(std::move(mountpoint)), control_(std::move(control)) {
    std::filesystem::create_directories(mountpoint_);
    std::vector<std::string> args = {mountpoint_, "--control", control_};
    if (lenient) args.push_back("--lenient");
    proc_ = std::make_unique<Process>(bin_dir + "/ordergate-lossyfs", args, stderr_file);
    mounted_ = proc_->WaitForLine("ordergate-lossyfs mounted ", Ms(10000)).has_value() &&
               Mounted(mountpoint_);
    if (!mounted_) error_ = proc_->Stderr();
  }
  ~LossyMount() { Unmount(); }
  LossyMount(const LossyMount&) = delete;
  LossyMount& operator=(const LossyMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return mountpoint_; }

  void Unmount() {
    if (proc_) {
      if (control_fd_ >= 0) ::close(control_fd_);
      control_fd_ = -1;
      proc_->Signal(SIGTERM);
      if (!proc_->Wait(Ms(5000))) {
        proc_->Signal(SIGKILL);
        proc_->Wait(Ms(5000));
      }
      proc_.reset();
    }
    for (int i = 0; i < 50 && Mounted(mountpoint_); ++i) {
      if (::umount2(mountpoint_.c_str(), 0) != 0) ::umount2(mountpoint_.c_str(), MNT_DETACH);
      std::this_thread::sleep_for(Ms(20));
    }
  }

  // One command of the control socket; its one-line answer ("" if the socket failed).
  std::string Control(const std::string& command) {
    if (control_fd_ < 0) {
      control_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, control_.c_str(), sizeof addr.sun_path - 1);
      if (::connect(control_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(control_fd_);
        control_fd_ = -1;
        return "";
      }
    }
    const std::string line = command + "\n";
    if (::send(control_fd_, line.data(), line.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(line.size())) {
      return "";
    }
    std::string answer;
    char c = 0;
    while (::read(control_fd_, &c, 1) == 1 && c != '\n') answer.push_back(c);
    return answer;
  }

 private:
  std::string mountpoint_;
  std::string control_;
  std::unique_ptr<Process> proc_;
  bool mounted_ = false;
  std::string error_;
  int control_fd_ = -1;
};

// "key=value" of a control answer, 0 when absent.
inline int64_t Field(const std::string& answer, const std::string& key) {
  const size_t at = answer.find(" " + key + "=");
  if (at == std::string::npos) return 0;
  return std::atoll(answer.c_str() + at + key.size() + 2);
}

}  // namespace power_loss
