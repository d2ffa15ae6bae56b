// The --baseline's forwarder: <bin dir>/ordergate-forwarder as a child process (a plain
// ROUTER->DEALER proxy to the simulator), started with fork/exec, never through a shell.
#ifndef ORDERGATE_BENCH_FORWARDER_CHILD_H_
#define ORDERGATE_BENCH_FORWARDER_CHILD_H_

#include <sys/types.h>

#include <string>

namespace ordergate::bench {

// The directory of this executable (/proc/self/exe), or "." when it cannot be read.
std::string BinDir();

struct Child {
  pid_t pid = -1;
  std::string endpoint;  // what the forwarder reported it listens on
  std::string error;     // non-empty when it could not be started or did not report
};

// Starts <bin dir>/ordergate-forwarder --bridge BRIDGE --listen tcp://127.0.0.1:* and reads its
// "listening on ENDPOINT" line: blocks up to 10 s. The child gets SIGTERM when the harness dies
// (PR_SET_PDEATHSIG). On error, a started child is still in pid: StopChild() it.
Child StartForwarder(const std::string& bridge);

// SIGTERM and reap (blocks until it exits). No-op for a child never started.
void StopChild(Child* ch);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_FORWARDER_CHILD_H_
