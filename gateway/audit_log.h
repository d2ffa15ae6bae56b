// AuditLog: every decision of the order pipeline as one JSON line (docs/SECURITY.md, "Audit log"),
// in an append-only file rotated by size, written by a thread of its own.
//
//   absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open({.path =
//   "/var/lib/og/audit.jsonl"});
//   (*log)->Record(AuditEvent{.kind = AuditEventKind::kSent, .unix_us = now_us,
//                             .identity = "alpha", .uuid = uuid, .bridge_uuid = bridge_uuid,
//                             .action = "OPEN", .symbol = "EURUSD", .type = "BUY", .volume = 0.1});
//
// A line: {"time":"2026-01-01T00:00:00.000001Z","event":"sent","identity":"alpha","uuid":"…",
// "bridge_uuid":"…","action":"OPEN","symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1}
// time (ISO 8601 UTC, µs), event, identity ("" without CURVE) and uuid are always written; every
// other field only when the event carries it (a non-empty string, a volume or price > 0). Strings
// are escaped as JSON (a control character or a newline never splits a line; invalid UTF-8
// becomes U+FFFD). No key is ever written: an AuditEvent has no field for a CURVE key, the admin
// token or a risk_signature, and callers put none in `message`.
//
// The stage: Record() copies the event into a bounded queue (under a mutex the writer holds only
// to swap two batches) and returns; it never waits on the disk. The writer thread formats a batch,
// writes it with write(2) (one call per batch and per rotation), and wakes when the queue goes
// from empty to non-empty (or once a second).
//
// A full queue drops the event: Record() returns false, lines_dropped() counts it, and the writer
// logs the count (at most every 10 s). Auditing never stops or slows trading: the order's durable
// truth is the idempotency store; the audit log is its human-readable account, and a drop is
// visible in the metrics. queue_capacity's default (65 536 events, memory used only as it fills)
// holds more than a second of the gateway's measured maximum (about 50 000 orders/s, two or three
// events each) while the writer sustains over a million lines a second (bench/audit_log_bench.cc),
// so a drop means the disk stalled for about a second.
//
// Durability: every batch is written (write(2)) before the next is taken, so a crash of the process
// loses nothing the writer took; fdatasync once a second when lines were written since, at every
// rotation and at close. A power loss may lose the last second of lines, never the order: the
// store's own fsync (durability=sync) is what the pipeline waits for, and fsyncing the audit log
// per batch would put a second disk flush beside it for no order's sake.
//
// Rotation: before a line that would take the file past max_bytes, the file is synced and closed,
// path.(keep-1) … path.1 are renamed one up (path.keep is overwritten: the oldest is gone), path
// becomes path.1, and a new path is created. A line is never split across files; one longer than
// max_bytes goes alone into a file. Files are created with mode 0600.
//
// Thread-safety: Record, Flush and the counters may be called from any thread.
#ifndef ORDERGATE_GATEWAY_AUDIT_LOG_H_
#define ORDERGATE_GATEWAY_AUDIT_LOG_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ordergate::gateway {

struct ReplyReader;  // audit_log.cc

enum class AuditEventKind : uint8_t {
  kSent,         // reserved durably and sent to the bridge
  kDuplicate,    // a resend answered from the order in flight or its record (replayed)
  kConflict,     // IDEMPOTENCY_CONFLICT: the uuid names another order
  kRiskRefused,  // RISK_LIMIT: nothing recorded, nothing sent (`message` names the limit)
  kFilled,       // the outcome, recorded: FILLED (ticket)
  kRejected,     // the outcome, recorded: REJECTED by the bridge (error_code)
  kUnknown,      // the bridge did not answer within bridge_timeout_ms
  kResolved,     // an operator resolved an UNKNOWN order (message: the resolution)
};
inline constexpr size_t kAuditEventKindCount = 8;

// "sent", "duplicate", "conflict", "risk_refused", "filled", "rejected", "unknown", "resolved".
absl::string_view AuditEventName(AuditEventKind kind);

// One decision, as the pipeline hands it over. The views need to live only during Record().
struct AuditEvent {
  AuditEventKind kind = AuditEventKind::kSent;
  int64_t unix_us = 0;  // when it was decided (the pipeline's clock)
  absl::string_view identity = {};
  absl::string_view uuid = {};
  absl::string_view bridge_uuid = {};  // the uuid sent to the bridge, when it differs
  absl::string_view action = {};       // "OPEN" / "CLOSE"
  absl::string_view symbol = {};
  absl::string_view type = {};
  double volume = 0;
  double price = 0;
  absl::string_view ticket = {};
  absl::string_view error_code = {};
  absl::string_view message = {};
  // An outcome's reply as recorded (the bridge's JSON): the writer takes its ticket and
  // error_code from it, so that the order path copies it rather than parsing it.
  absl::string_view reply = {};
};

struct AuditLogOptions {
  std::string path;                // the live file; rotated files are path.1 … path.keep
  int64_t max_bytes = 64 << 20;    // rotate before a line would take the file past this
  int64_t keep = 10;               // rotated files kept
  size_t queue_capacity = 65'536;  // events queued before Record drops
  int64_t sync_interval_ms = 1000;
};

// The file an `audit_log` setting names: "" (off) stays "", an absolute path is itself, and a
// relative one is under data_dir (the default "audit.jsonl" lies beside the store).
std::string AuditLogPath(absl::string_view setting, absl::string_view data_dir);

class AuditLog {
 public:
  // Opens (creates, mode 0600) options.path for appending and starts the writer. Blocks for the
  // open. kInvalidArgument for options out of range (max_bytes < 1, keep < 1, capacity 0), an
  // error naming the path and errno when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(AuditLogOptions options);
  // Writes what is queued, syncs, and joins the writer. Blocks for that.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues `e`; never waits on the disk (a mutex held by the writer only for a swap). True when
  // queued; false when the queue was full and `e` was dropped (counted in lines_dropped()).
  // Allocates only while the queue grows to a size it has not held before.
  bool Record(const AuditEvent& e);

  // Blocks until every event queued before the call is written (write(2), not synced). For tests
  // and shutdown; never on the order path.
  void Flush();

  uint64_t lines_written() const { return lines_written_.load(std::memory_order_relaxed); }
  uint64_t lines_dropped() const { return lines_dropped_.load(std::memory_order_relaxed); }
  // write(2), fdatasync or rotation failures (each logged); the lines of a failed write are
  // counted as dropped.
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }
  const std::string& path() const { return options_.path; }

 private:
  struct Entry;  // an AuditEvent's copy (audit_log.cc)
  // One event as its line (newline included), appended to *out.
  static void AppendLine(const Entry& e, ReplyReader* reader, std::string* out);
  struct Batch {
    std::vector<Entry> entries;  // [0, count) hold events; the rest keep their strings' capacity
    size_t count = 0;
  };

  explicit AuditLog(AuditLogOptions options, int fd, int64_t size_bytes);
  void Main();
  void WriteBatch(const Batch& batch);
  bool WriteAll(absl::string_view bytes);
  void Rotate();
  void Sync();

  const AuditLogOptions options_;
  int fd_;
  int64_t size_bytes_;                   // of the live file (writer thread)
  std::string buf_;                      // writer thread: the lines of the current batch
  std::unique_ptr<ReplyReader> reader_;  // writer thread: reads outcomes' replies
  bool dirty_ = false;                   // written since the last sync (writer thread)

  std::mutex mu_;
  std::condition_variable wake_;     // the writer: events queued, or stop
  std::condition_variable written_;  // Flush: written_seq_ moved
  std::unique_ptr<Batch> pending_;   // guarded by mu_
  std::unique_ptr<Batch> writing_;   // writer thread
  uint64_t queued_seq_ = 0;          // guarded by mu_: events queued so far
  uint64_t written_seq_ = 0;         // guarded by mu_: events written (or failed) so far
  bool writer_idle_ = false;         // guarded by mu_: waiting for events
  bool stop_ = false;                // guarded by mu_

  std::atomic<uint64_t> lines_written_{0};
  std::atomic<uint64_t> lines_dropped_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::thread writer_;
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_AUDIT_LOG_H_
