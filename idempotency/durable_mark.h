// The durable mark: the highest sequence number of the store's write-ahead log that is known to be
// on disk, kept in a small file beside the store (<dir>/ORDERGATE-DURABLE-MARK), outside the WAL.
//
// Why: RocksDB recovers a damaged, truncated or deleted WAL silently (point-in-time recovery stops
// at the first bad record and drops the rest), and a lost record is an order that executes again
// on its retry. The store compares what RocksDB recovered with this mark when it opens: recovering
// less than the mark means records that had been acknowledged are gone, and the store refuses to
// open. A torn tail of writes that were never acknowledged (a crash in the middle of a write) lies
// above the mark and is accepted, as it must be.
//
//   DurableMarkWriter mark(dir, /*written_sequence=*/n);  // after WriteDurableMark(dir, n) at open
//   mark.Publish(seq);   // Apply(): the WAL holds everything up to seq at the store's durability
//   mark.Stop();         // before the closing write and the final WriteDurableMark()
//
// The file is one 512-byte block rewritten in place (pwrite at offset 0 and fdatasync: one aligned
// sector, which a device writes whole or not at all; no rename, so no file-system journal commit
// beside the WAL's), never on the request path: a background thread rewrites it at most every
// 100 ms, and only when the published sequence moved. The mark therefore lags by up to ~100 ms plus
// one fdatasync; a loss within that lag
// goes unnoticed, which is why the store also writes the mark exactly at open and at a clean close.
// No rocksdb:: type appears here.
#ifndef ORDERGATE_IDEMPOTENCY_DURABLE_MARK_H_
#define ORDERGATE_IDEMPOTENCY_DURABLE_MARK_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ordergate::idempotency::internal {

inline constexpr char kDurableMarkFile[] = "ORDERGATE-DURABLE-MARK";

// The mark stored in `dir`, or nullopt when the file does not exist (a new store, or one written
// by a version before the mark). Blocks on a small read. Statuses carry messages (start-up path):
//   kDataLoss: the file exists but is not a mark this code wrote (truncated, altered, garbage).
//   kUnavailable: the file cannot be read (permissions, I/O error).
absl::StatusOr<std::optional<uint64_t>> ReadDurableMark(const std::string& dir);

// Replaces the mark in `dir` with `sequence`, in place: after a crash at any point the file holds
// the old mark or the new one (a 512-byte aligned block, written whole or not at all by the
// device). Blocks on one fdatasync (and a directory fsync when it creates the file). kUnavailable
// (with a message) when a step fails; the file then holds the old mark or, on a device that tore
// the block, a damaged one that refuses the next open (fail closed).
absl::Status WriteDurableMark(const std::string& dir, uint64_t sequence);

// Advances the mark in the background. Publish() is what Apply() calls (an atomic store); a
// thread wakes every `period_ms`, and when the published sequence moved past the written one it
// writes the mark (a failed write is retried at the next wake-up: the mark lags, never leads).
// Thread-safety: Publish() from any thread; Stop() and the destructor from one thread.
class DurableMarkWriter {
 public:
  static constexpr int64_t kDefaultPeriodMs = 100;

  // `written_sequence`: what the file already holds.
  DurableMarkWriter(std::string dir, uint64_t written_sequence,
                    int64_t period_ms = kDefaultPeriodMs);
  ~DurableMarkWriter();  // Stop()
  DurableMarkWriter(const DurableMarkWriter&) = delete;
  DurableMarkWriter& operator=(const DurableMarkWriter&) = delete;

  // Everything up to `sequence` is in the WAL at the store's durability. Never blocks.
  void Publish(uint64_t sequence) {
    uint64_t seen = published_.load(std::memory_order_relaxed);
    while (seen < sequence &&
           !published_.compare_exchange_weak(seen, sequence, std::memory_order_relaxed)) {
    }
  }

  // Ends the thread (waiting for a mark write in progress). Idempotent. Blocks up to one write.
  void Stop();

  // The sequence the file holds as far as this writer knows (for tests).
  uint64_t written_sequence() const { return written_.load(std::memory_order_relaxed); }

 private:
  void Run();

  const std::string dir_;
  const int64_t period_ms_;
  std::atomic<uint64_t> published_;
  std::atomic<uint64_t> written_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ordergate::idempotency::internal

#endif  // ORDERGATE_IDEMPOTENCY_DURABLE_MARK_H_
