// Journal: the pipeline's durability stage, a thread that owns the store's batch writes.
//
// The pipeline thread (Gateway::Loop) gathers the changes of a burst (reservations of new orders,
// outcomes learned from the bridge) into a Batch and hands it over with Write(); while the journal
// thread writes it (one WAL write, and one fsync under Durability::kSync: group commit), the
// pipeline keeps receiving, deciding and gathering the next batch, and answers and sends for the
// previous one. One batch is being written at a time, so a batch sees every earlier batch's effects
// and an order's reservation is always written before its outcome (an outcome is learned only after
// the order was sent, which is after its reservation's batch came back).
//
//   Journal::Batch* b = ...;                   // owned by the pipeline, reused
//   if (!journal.busy()) journal.Write(b);     // returns at once
//   ... poll, with journal.wake_fd() among the descriptors ...
//   if (Journal::Batch* done = journal.TakeWritten()) {
//     if (done->status.ok()) { /* every kApplied result is durable: send, answer */ }
//     else { /* fail closed: nothing of it is durable */ }
//   }
//
// Owns: the journal thread and the hand-over slot. The Batch itself belongs to the pipeline, which
// must not touch it (nor the strings its changes view) between Write() and TakeWritten() returning
// it. The store is the caller's and must outlive the Journal; Store::Apply is the only call the
// journal thread makes on it.
// Thread-safety: every method on the pipeline thread only (one owner), except that the journal
// thread is the Journal's own.
#ifndef ORDERGATE_GATEWAY_JOURNAL_H_
#define ORDERGATE_GATEWAY_JOURNAL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/clock.h"
#include "idempotency/store.h"

namespace ordergate::gateway {

class Journal {
 public:
  struct Batch {
    std::vector<idempotency::Change> changes;  // views into the pipeline's orders
    std::vector<idempotency::ChangeResult> results;
    int64_t now_unix_ms = 0;     // stamps created/updated times (set by the pipeline)
    absl::Status status;         // Store::Apply's result, once written
    int64_t apply_start_ns = 0;  // steady clock, around Store::Apply (for StageLatency)
    int64_t apply_end_ns = 0;
  };

  // Starts the journal thread. `clock` (the pipeline's, gateway/clock.h; it must outlive the
  // Journal) stamps apply_start_ns / apply_end_ns, so they compare with the pipeline's own times.
  // kInternal (with message) when the wake-up eventfd cannot be made.
  static absl::StatusOr<std::unique_ptr<Journal>> Start(idempotency::Store* store,
                                                        const Clock& clock);
  // The same hand-over without a thread, for the deterministic simulation (tests/simulation): a
  // batch handed over by Write() is written only when its owner calls WritePending() (its simulated
  // disk is done), on the owner's thread, so a seeded run replays exactly. WaitWritten() writes it
  // at once. kInternal as Start().
  static absl::StatusOr<std::unique_ptr<Journal>> StartManual(idempotency::Store* store,
                                                              const Clock& clock);
  // Waits for a batch being written, then stops the thread. A batch written but not taken is
  // simply dropped (its results are lost to the pipeline, not to the store).
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // A batch was handed over and has not been taken back yet.
  bool busy() const { return busy_; }

  // Hands `batch` (non-empty changes; results are sized here) to the journal thread and returns at
  // once. REQUIRES: !busy().
  void Write(Batch* batch);

  // The batch handed over by Write() once the journal thread has applied it (then busy() is false
  // again), else null. Never blocks. Clears wake_fd()'s readiness.
  Batch* TakeWritten();

  // Blocks until the batch being written (if any) is done; TakeWritten() then returns it. For the
  // pipeline's last steps at shutdown only.
  void WaitWritten();

  // Readable while a written batch waits for TakeWritten(): poll it with the sockets.
  int wake_fd() const { return wake_fd_; }

  // A manual journal (StartManual) only: writes the batch handed over, if any, on the caller's
  // thread (blocks for Store::Apply). True when there was one.
  bool WritePending();

 private:
  Journal(idempotency::Store* store, const Clock& clock, int wake_fd);
  void Main();
  // Store::Apply of `b` with its timestamps, then hands it back (written_, wake_fd).
  void WriteBatch(Batch* b);

  idempotency::Store* const store_;
  const Clock& clock_;
  const int wake_fd_;
  bool busy_ = false;    // pipeline thread's own view
  bool manual_ = false;  // StartManual: no thread; WritePending() writes

  std::mutex mu_;
  std::condition_variable cv_;
  Batch* to_write_ = nullptr;  // guarded by mu_
  // to_write_ != nullptr, readable without mu_: what the journal thread spins on between batches.
  std::atomic<bool> has_work_{false};
  Batch* written_ = nullptr;  // guarded by mu_
  bool stop_ = false;         // guarded by mu_
  std::thread thread_;
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_JOURNAL_H_
