// StoreReader: the pipeline's point reads of the store, on a thread of their own ("og-reader").
//
// Some requests can only be answered from the durable record: ORDER_STATUS of an order not in
// memory, a resend that admission or a pre-trade limit refuses (answered from its record when it
// has one), a conflicting body while the uuid is being reserved, a retry of an UNKNOWN order on the
// shared guard. A point read may wait — for the disk (a record long out of the block cache), or for
// a database answering slowly — and on the pipeline thread that wait held every client and every
// bridge reply. Here only the request that needs the read waits for it: the pipeline submits the
// read with a ticket and carries on; the result comes back through TakeDone(), with wake_fd()
// readable, and the pipeline answers then.
//
//   auto reader = StoreReader::Start(store, clock, {});
//   if (!reader->Submit(ticket, key)) { /* queue full: answer STORE_UNAVAILABLE at once */ }
//   ... poll, with reader->wake_fd() among the descriptors ...
//   reader->TakeDone(&results);  // each: {ticket, the record (nullopt: absent), or the error}
//
// After a read fails, reads are answered kUnavailable without being tried for `pause_ms`: a store
// that is unreachable or silent would otherwise cost each queued read its full call deadline.
// Reads are served in the order submitted. A result may arrive after the state it was read for
// changed in memory; the pipeline re-checks what it holds when it answers.
//
// Owns: the reader thread, the queue of reads and the finished results. The store is the caller's
// and must outlive the StoreReader; Store::Lookup is the only call the reader makes on it (the
// store's readers never wait for its writer, idempotency/store.h).
// Thread-safety: every method on the pipeline thread only (one owner); the reader thread is the
// StoreReader's own.
#ifndef ORDERGATE_GATEWAY_STORE_READER_H_
#define ORDERGATE_GATEWAY_STORE_READER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/clock.h"
#include "idempotency/store.h"

namespace ordergate::gateway {

class StoreReader {
 public:
  struct Options {
    // Reads outstanding (submitted, not yet taken back) at most; Submit() refuses beyond: memory
    // stays bounded (~1 KiB a read with what the pipeline keeps for its answer) when a store
    // answers slower than questions arrive. Default: 65536. REQUIRES: > 0.
    size_t max_queued = 65536;
    // After a failed read, reads are answered kUnavailable untried for this long. Default: 500.
    // REQUIRES: >= 0.
    int64_t pause_ms = 500;
  };
  struct Result {
    uint64_t ticket = 0;
    // The record (nullopt: none), or the read's error: kUnavailable (the store could not be read,
    // or the pause after a failure), kDataLoss (a record that cannot be decoded).
    absl::StatusOr<std::optional<idempotency::Record>> record;
  };

  // Starts the reader thread. `clock` (the pipeline's; it must outlive the StoreReader) times the
  // pause. kInternal (with message) when the wake-up eventfd cannot be made.
  static absl::StatusOr<std::unique_ptr<StoreReader>> Start(idempotency::Store* store,
                                                            const Clock& clock, Options options);
  // No thread: Submit() only queues, and the owner has the queued reads done on its own thread with
  // ReadPending() when it chooses (the deterministic simulation: it decides when a read's latency
  // has passed, so a seeded run replays exactly). kInternal as Start().
  static absl::StatusOr<std::unique_ptr<StoreReader>> StartManual(idempotency::Store* store,
                                                                  const Clock& clock,
                                                                  Options options);
  // Finishes the reads already queued (each at most its store call's deadline, or at once during
  // a pause), then joins the thread. Their results are dropped: call Drain() first to have them.
  ~StoreReader();

  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  // Queues a read of `key`; its result comes back under `ticket`. Never blocks (a manual reader
  // reads here). False, and nothing queued, when max_queued reads are waiting.
  bool Submit(uint64_t ticket, std::string key);

  // Appends the finished results to *out, in the order submitted. Never blocks. Clears wake_fd()'s
  // readiness.
  void TakeDone(std::vector<Result>* out);

  // Blocks until every submitted read has finished (a manual reader does them now), then appends
  // their results as TakeDone(). For shutdown: nobody waits on the gateway's answer forever.
  void Drain(std::vector<Result>* out);

  // Manual reader only: does every queued read now, on the caller's thread; their results wait for
  // TakeDone(). Returns whether there was any.
  bool ReadPending();

  // Whether reads are queued and not yet done (a manual reader's, for its owner to schedule).
  bool has_queued();

  // Submitted and not yet taken back.
  size_t outstanding() const { return outstanding_; }

  // Readable while finished results wait for TakeDone(): poll it with the sockets.
  int wake_fd() const { return wake_fd_; }

 private:
  struct Read {
    uint64_t ticket;
    std::string key;
  };
  static absl::StatusOr<std::unique_ptr<StoreReader>> Make(idempotency::Store* store,
                                                           const Clock& clock, Options options,
                                                           bool manual);
  StoreReader(idempotency::Store* store, const Clock& clock, Options options, int wake_fd);
  void Main();
  Result ReadOne(const Read& r);  // on the reader's thread (or the owner's, manual)

  idempotency::Store* const store_;
  const Clock& clock_;
  const Options options_;
  const int wake_fd_;
  bool manual_ = false;
  size_t outstanding_ = 0;  // owner's thread only
  // The reader thread's (or, manual, the owner's): until when reads are answered untried.
  int64_t paused_until_ns_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;  // the reader waits for reads; Drain() for results
  std::deque<Read> queued_;     // guarded by mu_
  std::vector<Result> done_;    // guarded by mu_
  size_t in_progress_ = 0;      // guarded by mu_: taken off queued_, not yet in done_
  bool stop_ = false;           // guarded by mu_
  std::thread thread_;
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_STORE_READER_H_
