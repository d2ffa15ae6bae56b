// One load run: N DEALER clients send OPEN orders with fresh uuids to one target (ordergate's
// front end, or the forwarder in front of the simulator), either
//   - open-loop (--rate R): orders/s across all clients, uniform or Poisson spacing; each order has
//     an INTENDED send time and its latency is measured from it, so a stall of the gateway (or of
//     the harness) shows in the figures instead of silently slowing the sender (no coordinated
//     omission); or
//   - closed-loop (--rate 0): each client keeps --window orders outstanding and sends the next one
//     the moment one completes: the sustained throughput.
// A share of orders is sent again with the same uuid (--retry-ratio: half while the original is in
// flight, half after its reply) and a share with the same uuid and another volume
// (--conflict-ratio). A PENDING reply is followed by the same order again (what docs/protocol.md
// tells a strategy). An order's fate is its first final reply (FILLED, REJECTED/error by code,
// UNKNOWN) or none; its latency runs from its intended send to that reply, FILLED apart from the
// rest.
//
// Lean by design (it shares the CPUs with what it measures): one thread drives every client socket,
// waiting in ppoll(2) on the sockets' ZMQ_FDs with a nanosecond timeout to the next intended send
// (never spinning), request bodies are preformatted, replies are scanned in place, and per-order
// state is a preallocated vector indexed by the number in the uuid.
#ifndef ORDERGATE_BENCH_LOAD_RUN_H_
#define ORDERGATE_BENCH_LOAD_RUN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_options.h"
#include "bench/run_result.h"

namespace ordergate::bench {

enum class LoadKind {
  kGateway,   // the front-end contract to ordergate
  kBaseline,  // bridge requests (signed here, as ordergate signs them) through the forwarder
};

// Runs one load against `endpoint` with uuids "<prefix><index>" and returns what it found.
// Blocks for the whole run: warm-up, --duration-s (or `orders` orders; 0 = from the options), then
// up to --drain-ms for outstanding replies. Never throws; a run that could not start (no PING
// answer within 5 s, a connect error) returns with `error` set. `on_measure_start` (may be empty)
// is called once on this thread when the warm-up ends. `ctx` is a zmq context shared by runs one
// after another (not concurrently).
RunResult RunLoad(const Options& opt, void* ctx, LoadKind kind, const std::string& endpoint,
                  const std::string& prefix, int64_t orders,
                  std::function<void()> on_measure_start);

// Counts an order's first final outcome into *f: FILLED, UNKNOWN, or refused under `code` (or
// "<status> (no code)" when it has none; REJECTED and error counted apart). The embedded load
// (embedded_load.h) counts its outcomes with it too, so both paths share one reading.
void RecordFate(Status st, std::string_view code, OrderFates* f);

// Executions per order index of each run, from the simulator's execution journal (one JSON line
// per executed order): fills executions, executed_uuids and duplicate_executions. Sets *err when
// the journal cannot be read.
void CountExecutions(const std::string& journal, const std::vector<RunResult*>& runs,
                     std::string* err);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_LOAD_RUN_H_
