// CPU time of whole processes, read from /proc, for ordergate-bench's "CPU per order" figures:
// how much work each process of a run (the gateway or the forwarder, the bridge simulator, the
// harness) does per order completed, whatever the machine's load (a shared 2-vCPU machine
// distorts latency and throughput far more than the work done per order).
//
//   ProcessCpuWindow w;
//   w.Add("gateway", "ordergated", gateway_pid);
//   w.Start(finished_now);   // at the end of the warm-up
//   ...                      // the measured load
//   w.Stop(finished_now);    // when the last order of the window was sent
//   for (const ProcessCpuUse& p : w.uses()) ...   // p.cpu_ns / w.orders() per order
//
// A process's figure is utime + stime from /proc/<pid>/stat: every thread of the process, live
// or ended, user and kernel time, in clock ticks (sysconf(_SC_CLK_TCK), 10 ms on Linux): over a
// measured window of 5 s at tens of thousands of orders per second that is well under 1 %.
// Single-threaded (one per load run, on the load thread); reading /proc never blocks on the
// process being measured.
#ifndef ORDERGATE_BENCH_PROCESS_CPU_H_
#define ORDERGATE_BENCH_PROCESS_CPU_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/run_result.h"

namespace ordergate::bench {

// utime + stime of process `pid` (all its threads) in nanoseconds, or -1 when /proc/<pid>/stat
// cannot be read (no such process, or not ours to read). Never throws.
int64_t ProcessCpuNs(pid_t pid);

// The first child process of this process whose executable's file name (/proc/<pid>/exe) is
// `exe_name`, found by the parent pid in /proc/<pid>/stat; -1 when there is none. Reads every
// /proc/<pid>/stat once (a few ms): call it outside the measured window. Never throws.
pid_t FindChildProcess(std::string_view exe_name);

// The CPU time of a few processes between Start() and Stop().
class ProcessCpuWindow {
 public:
  // A process to measure: its role in the report ("gateway", "forwarder", "bridge", "harness"),
  // what it is ("ordergated", "this process: the embedded gateway and the harness") and its pid.
  // A pid <= 0 is left out.
  void Add(std::string role, std::string what, pid_t pid);

  // Reads each process's CPU time; `finished` is the run's count of orders with a final outcome
  // so far (the orders completed in the window are the difference at Stop()).
  void Start(int64_t now_ns, int64_t finished);
  // Reads each process's CPU time again. A process that could not be read at either end gets
  // cpu_ns -1. Stop() without Start() does nothing.
  void Stop(int64_t now_ns, int64_t finished);

  bool started() const { return started_; }
  bool stopped() const { return stopped_; }
  // Into a run's result: uses, the window's length and the orders completed in it.
  void Fill(RunResult* r) const;

 private:
  std::vector<ProcessCpuUse> uses_;
  std::vector<int64_t> start_cpu_ns_;
  int64_t start_ns_ = 0, start_finished_ = 0;
  int64_t window_ns_ = 0, orders_ = 0;
  bool started_ = false, stopped_ = false;
};

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_PROCESS_CPU_H_
