// ordergate-forwarder: the baseline of ordergate-bench --baseline. A plain ZeroMQ forwarder between
// strategies and the bridge — ROUTER front end, DEALER to the bridge, zmq_proxy between them — with
// no parsing, no store and no idempotency guard: the physical limit of "strategy -> one more hop ->
// bridge -> back" on this machine, against which the gateway's overhead is a ratio.
//
//   ordergate-forwarder --listen 'tcp://127.0.0.1:*' --bridge tcp://127.0.0.1:5556
//   -> stdout: "ordergate-forwarder listening on tcp://127.0.0.1:41235"
//
// A DEALER/REQ client sends [empty][json]; the ROUTER prepends the client's identity and the DEALER
// passes [id][empty][json] on; the bridge (REP semantics) mirrors the envelope, so replies route
// back unchanged. Same thread structure as ordergated: one loop thread plus one ZeroMQ I/O thread.
// SIGTERM/SIGINT stop the proxy and exit 0; exit 2 on bad flags, 1 when it cannot bind or connect.
#include <signal.h>
#include <zmq.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

constexpr char kUsage[] = R"(usage: ordergate-forwarder --bridge ENDPOINT [flags]
A plain ZeroMQ forwarder (ROUTER front -> DEALER back, zmq_proxy), the baseline of ordergate-bench.
  --listen ENDPOINT     front-end endpoint to bind [tcp://127.0.0.1:*]; prints the bound one
  --bridge ENDPOINT     the bridge (simulator) to connect to [required]
  --io-threads N        ZeroMQ I/O threads [1]
  --help
)";

void Fail(const char* what) {
  std::fprintf(stderr, "ordergate-forwarder: %s: %s\n", what, zmq_strerror(zmq_errno()));
}

// Unlimited queues both ways, linger 0: a forwarder must not drop or block what the two ends queue.
bool Configure(void* s) {
  const int zero = 0;
  return zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero) == 0 &&
         zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero) == 0 &&
         zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "tcp://127.0.0.1:*";
  std::string bridge;
  int io_threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ordergate-forwarder: %s needs a value\n%s", a.c_str(), kUsage);
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--listen") {
      listen = v;
    } else if (a == "--bridge") {
      bridge = v;
    } else if (a == "--io-threads") {
      io_threads = std::atoi(v.c_str());
      if (io_threads < 1) {
        std::fprintf(stderr, "ordergate-forwarder: --io-threads must be >= 1\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "ordergate-forwarder: unknown flag %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (bridge.empty()) {
    std::fprintf(stderr, "ordergate-forwarder: --bridge is required\n%s", kUsage);
    return 2;
  }

  // Blocked before ZeroMQ starts its threads, so only the sigwait thread below receives them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  void* ctx = zmq_ctx_new();
  zmq_ctx_set(ctx, ZMQ_IO_THREADS, io_threads);
  void* front = zmq_socket(ctx, ZMQ_ROUTER);
  void* back = zmq_socket(ctx, ZMQ_DEALER);
  void* control = zmq_socket(ctx, ZMQ_PAIR);
  int rc = 1;
  char bound[256] = {};
  size_t bound_len = sizeof bound - 1;
  if (!Configure(front) || !Configure(back) || !Configure(control)) {
    Fail("socket options");
  } else if (zmq_bind(control, "inproc://ordergate-forwarder-control") != 0) {
    Fail("control socket");
  } else if (zmq_bind(front, listen.c_str()) != 0) {
    Fail(("bind " + listen).c_str());
  } else if (zmq_connect(back, bridge.c_str()) != 0) {
    Fail(("connect " + bridge).c_str());
  } else if (zmq_getsockopt(front, ZMQ_LAST_ENDPOINT, bound, &bound_len) != 0) {
    Fail("ZMQ_LAST_ENDPOINT");
  } else {
    std::printf("ordergate-forwarder listening on %s\n", bound);
    std::fflush(stdout);
    // The signal thread owns the other end of the control pair; "TERMINATE" ends zmq_proxy.
    std::thread stopper([ctx, &sigs] {
      void* ctl = zmq_socket(ctx, ZMQ_PAIR);
      const int zero = 0;
      zmq_setsockopt(ctl, ZMQ_LINGER, &zero, sizeof zero);
      zmq_connect(ctl, "inproc://ordergate-forwarder-control");
      int sig = 0;
      sigwait(&sigs, &sig);
      zmq_send(ctl, "TERMINATE", 9, 0);
      zmq_close(ctl);
    });
    zmq_proxy_steerable(front, back, nullptr, control);
    stopper.join();
    rc = 0;
  }
  zmq_close(front);
  zmq_close(back);
  zmq_close(control);
  zmq_ctx_term(ctx);
  return rc;
}
