// Programs under test as child processes, started with fork/execv (never through a shell). One
// start-up path (SpawnChild) for two ways of reading the child:
//   - Process: a long-running daemon (ordergated, ordergate-bridge-sim): stdout read line by line
//     by a thread, stderr to a file, signals, waiting with a timeout, kill -9 on destruction.
//   - Child: a short run of a command line (--help, a bad flag, a first "listening on" line):
//     stdout and stderr both captured through pipes, the exit code.
// Every child dies with the test binary (PR_SET_PDEATHSIG SIGKILL), starts with no signal blocked
// or ignored, in its own process group, with stdin from /dev/null.
//
//   ordergate::test_support::Child c(BINARY, {"--help"});
//   CHECK(c.WaitExit(5000) == 0);
//   CHECK(c.out().find("Usage:") != std::string::npos);
//
// Thread-safety: one thread drives a handle; Process's own reader thread is internal to it.
// Failures to start (pipe, open, fork) throw std::runtime_error.
#ifndef ORDERGATE_TESTS_SUPPORT_CHILD_PROCESS_H_
#define ORDERGATE_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ordergate::test_support {

// Starts `exe` with `args`; the child's stdout and stderr become `stdout_fd` and `stderr_fd`.
// Returns its pid. Does not close the given descriptors (the caller owns them).
pid_t SpawnChild(const std::string& exe, std::vector<std::string> args, int stdout_fd,
                 int stderr_fd);

// A daemon under test: stdout read through a pipe by a thread (lines are kept), stderr to a file.
// The destructor SIGKILLs the child if it is still running and reaps it.
class Process {
 public:
  using Ms = std::chrono::milliseconds;

  Process(std::string path, std::vector<std::string> args, std::string stderr_file);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  // The first stdout line starting with `prefix`, waiting up to `timeout`; nullopt on timeout or
  // when stdout closed first.
  std::optional<std::string> WaitForLine(std::string_view prefix, Ms timeout);
  std::vector<std::string> StdoutLines();
  std::string Stderr() const;  // what the child wrote to stderr so far
  bool Signal(int sig);        // false if already reaped
  // Waits for the child to exit; returns the raw wait status, or nullopt on timeout.
  std::optional<int> Wait(Ms timeout);
  bool Running();
  // The raw wait status once Wait() or Running() reaped the child; nullopt before.
  std::optional<int> ExitStatus() const { return exit_status_; }
  // Exit code if it exited normally, -signal if killed by a signal.
  static int Decode(int wait_status);

 private:
  void ReadLoop(int fd);

  std::string name_;
  std::string stderr_file_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::optional<int> exit_status_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool eof_ = false;
};

// A short run of a command line with stdout and stderr on pipes, read by the calling thread.
// Killed (SIGKILL) and reaped if still running when destroyed.
class Child {
 public:
  Child(const std::string& exe, const std::vector<std::string>& args);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads stdout and stderr until stdout has a whole first line (returned without its newline),
  // both pipes are closed, or timeout_ms passes. The line is empty if none came.
  std::string ReadFirstLine(int timeout_ms);

  // Reads both pipes to their end, then reaps the child: its exit code, 128 + signal if killed by
  // one, or -1 if it had not exited within timeout_ms (then it is killed on destruction).
  int WaitExit(int timeout_ms);

 private:
  // Reads both pipes until `done` (called between reads) says so, both close, or timeout_ms.
  template <typename Done>
  void Drain(int timeout_ms, Done done);

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string out_;
  std::string err_;
};

}  // namespace ordergate::test_support

#endif  // ORDERGATE_TESTS_SUPPORT_CHILD_PROCESS_H_
