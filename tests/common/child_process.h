// A program under test as a child process, its stdout and stderr read through pipes: for the
// suites that run ordergate's binaries themselves (their command lines, their first lines, their
// exit codes). Header-only; Catch2's REQUIRE reports a failed fork or pipe.
//
//   ordergate::testing::Child c(BINARY, {"--help"});
//   CHECK(c.WaitExit(5000) == 0);
//   CHECK(c.out().find("Usage:") != std::string::npos);
#ifndef ORDERGATE_TESTS_COMMON_CHILD_PROCESS_H_
#define ORDERGATE_TESTS_COMMON_CHILD_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace ordergate::testing {

// A child process with its stdout and stderr on pipes. Killed (SIGKILL) if still running when
// destroyed.
class Child {
 public:
  Child(const std::string& exe, const std::vector<std::string>& args) {
    int out[2], err[2];
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    std::vector<std::string> full = {exe};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads stdout and stderr until stdout has a whole first line (returned without its newline),
  // both pipes are closed, or timeout_ms passes. The line is empty if none came.
  std::string ReadFirstLine(int timeout_ms) {
    Drain(timeout_ms, [this] { return out_.find('\n') != std::string::npos; });
    const size_t nl = out_.find('\n');
    return nl == std::string::npos ? std::string() : out_.substr(0, nl);
  }

  // Reads both pipes to their end, then reaps the child: its exit code, 128 + signal if killed by
  // one, or -1 if it had not exited within timeout_ms (then it is killed).
  int WaitExit(int timeout_ms) {
    Drain(timeout_ms, [] { return false; });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  template <typename Done>
  void Drain(int timeout_ms, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string* sinks[2] = {&out_, &err_};
    while (!done() && (fds_[0] >= 0 || fds_[1] >= 0) &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (fds_[i] < 0 || p[i].revents == 0) continue;
        char buf[4096];
        const ssize_t n = read(fds_[i], buf, sizeof buf);
        if (n > 0) {
          sinks[i]->append(buf, static_cast<size_t>(n));
        } else {
          close(fds_[i]);
          fds_[i] = -1;
        }
      }
    }
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string out_;
  std::string err_;
};

}  // namespace ordergate::testing

#endif  // ORDERGATE_TESTS_COMMON_CHILD_PROCESS_H_
