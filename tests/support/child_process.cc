#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "tests/support/clock.h"

namespace ordergate::test_support {
namespace {

std::string Basename(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

pid_t SpawnChild(const std::string& exe, std::vector<std::string> args, int stdout_fd,
                 int stderr_fd) {
  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test binary has threads).
  std::vector<std::string> all;
  all.push_back(exe);
  for (auto& a : args) all.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    if (devnull >= 0) ::close(devnull);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    // Child: die with the test binary, whatever way it ends.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::setpgid(0, 0);
    // Signals blocked or ignored by the test runner must not leak into the program under test.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(stdout_fd, 1);
    ::dup2(stderr_fd, 2);
    ::execv(argv[0], argv.data());
    const char msg[] = "test: execv failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  if (devnull >= 0) ::close(devnull);
  return pid;
}

// ---------------------------------------------------------------------------------------------
// Process

Process::Process(std::string path, std::vector<std::string> args, std::string stderr_file)
    : name_(Basename(path)), stderr_file_(std::move(stderr_file)) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const int err_fd = ::open(stderr_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err_fd < 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("cannot open " + stderr_file_);
  }
  try {
    pid_ = SpawnChild(path, std::move(args), out[1], err_fd);
  } catch (...) {
    ::close(out[0]);
    ::close(out[1]);
    ::close(err_fd);
    throw;
  }
  ::close(out[1]);
  ::close(err_fd);
  const int rfd = out[0];
  reader_ = std::thread([this, rfd] { ReadLoop(rfd); });
}

Process::~Process() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    // SIGSTOPped children die from SIGKILL too; reap so nothing is left behind.
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  if (reader_.joinable()) reader_.join();
}

void Process::ReadLoop(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> l(mu_);
    partial_.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> l(mu_);
  if (!partial_.empty()) lines_.push_back(partial_);
  partial_.clear();
  eof_ = true;
  cv_.notify_all();
}

std::optional<std::string> Process::WaitForLine(std::string_view prefix, Ms timeout) {
  std::unique_lock<std::mutex> l(mu_);
  std::optional<std::string> found;
  cv_.wait_for(l, timeout, [&] {
    for (const auto& line : lines_) {
      if (line.rfind(prefix, 0) == 0) {
        found = line;
        return true;
      }
    }
    return eof_;
  });
  return found;
}

std::vector<std::string> Process::StdoutLines() {
  std::lock_guard<std::mutex> l(mu_);
  return lines_;
}

std::string Process::Stderr() const {
  std::ifstream in(stderr_file_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Process::Signal(int sig) {
  if (reaped_) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<int> Process::Wait(Ms timeout) {
  if (reaped_) return std::nullopt;
  const SteadyTime deadline = SteadyNow() + timeout;
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      exit_status_ = st;
      if (reader_.joinable()) reader_.join();
      return st;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (SteadyNow() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Ms(5));
  }
}

bool Process::Running() {
  if (reaped_) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_status_ = st;
    return false;
  }
  return true;
}

int Process::Decode(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return -WTERMSIG(st);
  return -1000;
}

// ---------------------------------------------------------------------------------------------
// Child

Child::Child(const std::string& exe, const std::vector<std::string>& args) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe2 failed");
  }
  fds_[0] = out[0];
  fds_[1] = err[0];
  try {
    pid_ = SpawnChild(exe, args, out[1], err[1]);
  } catch (...) {
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);  // no destructor runs
    throw;
  }
  ::close(out[1]);
  ::close(err[1]);
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

std::string Child::ReadFirstLine(int timeout_ms) {
  Drain(timeout_ms, [this] { return out_.find('\n') != std::string::npos; });
  const size_t nl = out_.find('\n');
  return nl == std::string::npos ? std::string() : out_.substr(0, nl);
}

int Child::WaitExit(int timeout_ms) {
  Drain(timeout_ms, [] { return false; });
  int status = 0;
  const bool exited =
      WaitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                std::chrono::milliseconds(timeout_ms), std::chrono::milliseconds(10));
  if (!exited) return -1;
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

template <typename Done>
void Child::Drain(int timeout_ms, Done done) {
  const SteadyTime deadline = SteadyNow() + std::chrono::milliseconds(timeout_ms);
  std::string* sinks[2] = {&out_, &err_};
  while (!done() && (fds_[0] >= 0 || fds_[1] >= 0) && SteadyNow() < deadline) {
    pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] < 0 || p[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds_[i], buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        ::close(fds_[i]);
        fds_[i] = -1;
      }
    }
  }
}

}  // namespace ordergate::test_support
