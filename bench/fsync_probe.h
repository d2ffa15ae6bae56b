// The --fsync-probe: what one fdatasync costs on the disk under a directory, measured by the
// harness itself so that a durability=sync run can be read against the disk it ran on.
#ifndef ORDERGATE_BENCH_FSYNC_PROBE_H_
#define ORDERGATE_BENCH_FSYNC_PROBE_H_

#include <string>
#include <utility>

namespace ordergate::bench {

// fdatasync of a 4 KiB append, 500 times, as a write-ahead log pays it, on the disk under `dir`:
// the unit that durability=sync adds to a reservation and to an outcome. Blocks for the 500 syncs
// (well under a second on an SSD, seconds on a slow disk). Writes and then removes
// DIR/ordergate-bench-fsync-probe. Returns {p50_us, p99_us}, or {-1, -1} when the file cannot be
// created, written or synced 500 times. Thread-safe only for distinct directories (one file name).
std::pair<double, double> ProbeFsync(const std::string& dir);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_FSYNC_PROBE_H_
