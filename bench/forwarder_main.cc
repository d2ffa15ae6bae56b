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
// SIGTERM/SIGINT stop the proxy and exit 0; exit 2 on bad flags (the message names the flag), 1
// when it cannot bind or connect. Flags follow the common style of transport/cli_style.h (CLI11).
#include <signal.h>
#include <zmq.h>

#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "transport/cli_style.h"

namespace {

namespace cli = ordergate::transport::cli;

constexpr char kDescription[] =
    "ordergate-forwarder: a plain ZeroMQ forwarder (ROUTER front -> DEALER back, zmq_proxy), the\n"
    "baseline of ordergate-bench --baseline.";

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
  {
    CLI::App app{kDescription, "ordergate-forwarder"};
    cli::ApplyStyle(app);
    app.add_option("--listen", listen, "front-end endpoint to bind; prints the bound one")
        ->type_name("ENDPOINT");
    app.add_option("--bridge", bridge, "the bridge (simulator) to connect to")
        ->type_name("ENDPOINT")
        ->required()
        ->check(CLI::Validator(
            [](std::string& v) {
              return v.empty() ? std::string("an empty endpoint") : std::string();
            },
            ""));
    app.add_option("--io-threads", io_threads, "ZeroMQ I/O threads, >= 1")
        ->type_name("N")
        ->check(cli::AtLeast(1));
    if (const std::optional<int> exit_code = cli::Parse(app, argc, argv)) return *exit_code;
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
