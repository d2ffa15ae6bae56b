// The durable mark: the highest sequence number of the store's write-ahead log that is known to be
// on disk, and the MANIFEST RocksDB had made durable with it (its file number and synced size),
// kept in a small file beside the store (<dir>/ORDERGATE-DURABLE-MARK), outside the WAL.
//
// Why: RocksDB recovers a damaged, truncated or deleted WAL silently (point-in-time recovery stops
// at the first bad record and drops the rest), and a lost record is an order that executes again
// on its retry. The store compares what RocksDB recovered with this mark when it opens: recovering
// less than the mark means records that had been acknowledged are gone, and the store refuses to
// open. A torn tail of writes that were never acknowledged (a crash in the middle of a write) lies
// above the mark and is accepted, as it must be.
// The MANIFEST part, for the same reason: RocksDB also drops a truncated MANIFEST's tail silently,
// and with it the version edits of the flushes since the store's last open (the table files they
// added, whose records the retired WAL no longer holds) while the newest WAL still replays up to
// the sequence mark (the nemesis run's manifest_truncated_half, 184 orders lost). The store
// refuses a MANIFEST shorter than the mark's, or a CURRENT naming an older one (store_damage.h).
//
//   DurableMarkWriter mark(dir, written, probe);  // after WriteDurableMark(dir, written) at open
//   mark.Publish(seq);   // Apply(): the WAL holds everything up to seq at the store's durability
//   mark.WriteNow();     // a flush or compaction installed a MANIFEST edit (rocksdb_store.cc)
//   mark.Stop();         // before the closing write; then Publish() and WriteNow() once more
//
// The file is one 512-byte block rewritten in place (pwrite at offset 0 and fdatasync: one aligned
// sector, which a device writes whole or not at all; no rename, so no file-system journal commit
// beside the WAL's), never on the request path: a background thread rewrites it at most every
// 100 ms, and only when the published sequence or the MANIFEST moved. The mark therefore lags by up
// to ~100 ms plus one fdatasync; a loss within that lag goes unnoticed, which is why the store also
// writes the mark exactly at open, at a clean close and, through WriteNow(), as each flush or
// compaction completes, before RocksDB deletes the files that edit made obsolete.
// No rocksdb:: type appears here.
#ifndef ORDERGATE_IDEMPOTENCY_DURABLE_MARK_H_
#define ORDERGATE_IDEMPOTENCY_DURABLE_MARK_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ordergate::idempotency::internal {

inline constexpr char kDurableMarkFile[] = "ORDERGATE-DURABLE-MARK";

// The MANIFEST a mark covers: MANIFEST-<number> (the one CURRENT named) and how many of its bytes
// RocksDB had written and synced. number 0: not recorded (a v1 mark, or RocksDB did not say).
struct ManifestState {
  uint64_t number = 0;
  uint64_t bytes = 0;
  friend bool operator==(const ManifestState&, const ManifestState&) = default;
};

struct DurableMark {
  uint64_t sequence = 0;   // every WAL sequence up to it is durable
  ManifestState manifest;  // number 0: no MANIFEST check (a v1 mark)
  friend bool operator==(const DurableMark&, const DurableMark&) = default;
};

// The mark stored in `dir`, or nullopt when the file does not exist (a new store, or one written
// by a version before the mark). A v1 mark (and the older unpadded one-line form) reads with
// manifest.number 0. Blocks on a small read. Statuses carry messages (start-up path):
//   kDataLoss: the file exists but is not a mark this code wrote (truncated, altered, garbage).
//   kUnavailable: the file cannot be read (permissions, I/O error).
absl::StatusOr<std::optional<DurableMark>> ReadDurableMark(const std::string& dir);

// Replaces the mark in `dir` with `mark` (always the v2 format), in place: after a crash at any
// point the file holds the old mark or the new one (a 512-byte aligned block, written whole or not
// at all by the device). Blocks on one fdatasync (and a directory fsync when it creates the file).
// kUnavailable (with a message) when a step fails; the file then holds the old mark or, on a
// device that tore the block, a damaged one that refuses the next open (fail closed).
absl::Status WriteDurableMark(const std::string& dir, const DurableMark& mark);

// Advances the mark in the background. Publish() is what Apply() calls (an atomic store); a
// thread wakes every `period_ms`, asks `probe` for the MANIFEST's state, and when the published
// sequence moved past the written one or the MANIFEST's state changed it writes the mark (a failed
// write is retried at the next wake-up: the mark lags, never leads). `probe` returns what RocksDB
// has synced of its current MANIFEST (nullopt: unknown, the written state is kept); it is called
// on the writer's thread and in WriteNow(), never on Publish()'s, and must be callable until the
// writer is destroyed.
// Thread-safety: Publish() and WriteNow() from any thread; Stop() and the destructor from one.
class DurableMarkWriter {
 public:
  static constexpr int64_t kDefaultPeriodMs = 100;
  using ManifestProbe = std::function<std::optional<ManifestState>()>;

  // `written`: what the file already holds.
  DurableMarkWriter(std::string dir, DurableMark written, ManifestProbe probe,
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

  // Writes the mark now (the published sequence, the probe's MANIFEST state) when either moved
  // since the last write; OK without a write when neither did. Serialised with the thread's
  // writes, probe included, so a mark is never replaced by an older state. Works after Stop().
  // Blocks on the probe, on one fdatasync and on a write of the thread in progress. kUnavailable
  // (with a message) when the write failed; the thread retries it.
  absl::Status WriteNow();

  // Ends the thread (waiting for a mark write in progress). Idempotent. Blocks up to one write.
  void Stop();

  // What the file holds as far as this writer knows (for tests).
  DurableMark written() const;

 private:
  void Run();
  // Under write_mu_.
  absl::Status WriteLocked();

  const std::string dir_;
  const ManifestProbe probe_;
  const int64_t period_ms_;
  std::atomic<uint64_t> published_;
  // Serialises the writes (the thread's and WriteNow()'s): probe, compare, write, record.
  mutable std::mutex write_mu_;
  DurableMark written_;  // guarded by write_mu_
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ordergate::idempotency::internal

#endif  // ORDERGATE_IDEMPOTENCY_DURABLE_MARK_H_
