// The --embedded load: the socket path's load shapes (load_run.h) driven through the public
// ordergate::Gateway (include/ordergate/gateway.h), with no socket between the submitting threads
// and the gateway:
//   - open loop (--rate R): orders/s across --clients submitting threads, uniform (the threads
//     take turns on one schedule) or Poisson (each thread a Poisson stream of R / clients); each
//     order has an INTENDED send time and its latency runs from it to its callback, so a stall of
//     the gateway or of a submitting thread shows in the figures (no coordinated omission);
//   - closed loop (--rate 0): each thread keeps --window orders outstanding and submits the next
//     when a callback arrives.
// --retry-ratio submits the same uuid again (half while the original is in flight, half
// --retry-delay-ms after its outcome) and --conflict-ratio the same uuid with twice the volume, as
// on the socket path. An order's fate is its first final outcome (FILLED, refused by code, UNKNOWN)
// or none within --drain-ms; FILLED latency apart from the rest. The embedded gateway never answers
// PENDING, so --timeout-ms plays no part.
//
// uuids are "<prefix><index>" with dense indices 0..issued-1 across the threads, so that
// CountExecutions (load_run.h) checks the simulator's journal for duplicate executions exactly as
// for a socket run.
//
// Callbacks run on the gateway's pipeline thread: they only take a timestamp and queue the outcome
// to the submitting thread (one mutex per thread, a wake-up when it sleeps); the thread does the
// accounting. Each thread keeps its own RunResult, merged at the end.
#ifndef ORDERGATE_BENCH_EMBEDDED_LOAD_H_
#define ORDERGATE_BENCH_EMBEDDED_LOAD_H_

#include <cstdint>
#include <string>

#include "bench/bench_options.h"
#include "bench/embedded_gateway.h"
#include "bench/run_result.h"

namespace ordergate::bench {

// Runs one load through `gw` with uuids "<prefix><index>" and returns what it found (target
// "ordergate"). Blocks for the whole run: warm-up, --duration-s (or `orders` orders; 0 = from the
// options), then up to --drain-ms for outstanding outcomes. Starts --clients threads and joins
// them before it returns; their state stays with `gw` (KeepUntilClosed) for outcomes that arrive
// after the run gave up on them. Call from main's thread only.
RunResult RunEmbeddedLoad(const Options& opt, EmbeddedGateway& gw, const std::string& prefix,
                          int64_t orders);

// `orders` orders one at a time on the calling thread through Gateway::SubmitAndWait, uuids
// "<prefix><index>": each order's latency runs from the call to its return (FILLED apart from the
// rest, as above); every order is measured (no warm-up: run it after a load run). Blocks for the
// whole run (each call at most the gateway's bridge timeout).
RunResult RunSubmitAndWait(const Options& opt, EmbeddedGateway& gw, const std::string& prefix,
                           int64_t orders);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_EMBEDDED_LOAD_H_
