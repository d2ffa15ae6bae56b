// The forwarder child (see forwarder_child.h).
#include "bench/forwarder_child.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "bench/harness_clock.h"

namespace ordergate::bench {

std::string BinDir() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

Child StartForwarder(const std::string& bridge) {
  Child ch;
  const std::string exe = BinDir() + "/ordergate-forwarder";
  int out[2];
  if (pipe(out) != 0) {
    ch.error = "pipe failed";
    return ch;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    ch.error = "fork failed";
    return ch;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the harness
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(exe.c_str(), exe.c_str(), "--bridge", bridge.c_str(), "--listen", "tcp://127.0.0.1:*",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  ch.pid = pid;
  std::string text;
  char c = 0;
  pollfd p{out[0], POLLIN, 0};
  const int64_t deadline = NowNs() + 10 * kNsPerS;
  while (NowNs() < deadline) {
    if (poll(&p, 1, 100) <= 0) continue;
    if (read(out[0], &c, 1) != 1) break;
    if (c == '\n') break;
    text.push_back(c);
  }
  close(out[0]);
  const std::string marker = "listening on ";
  const size_t at = text.find(marker);
  if (at == std::string::npos) {
    ch.error = "ordergate-forwarder (" + exe + ") did not report its endpoint: '" + text + "'";
    return ch;
  }
  ch.endpoint = text.substr(at + marker.size());
  return ch;
}

void StopChild(Child* ch) {
  if (ch->pid <= 0) return;
  kill(ch->pid, SIGTERM);
  int status = 0;
  waitpid(ch->pid, &status, 0);
  ch->pid = -1;
}

}  // namespace ordergate::bench
