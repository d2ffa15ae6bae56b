// Operator resolution of an UNKNOWN order: what an operator asks (Resolution), the reply recorded
// for it, and the hand-off from the thread that asks (the HTTP admin endpoint) to the order loop,
// which owns every order's state and applies the resolution (ResolutionQueue).
//
//   Resolution r{.uuid = "ord-42", .outcome = ResolvedOutcome::kFilled, .ticket = 5001};
//   absl::StatusOr<ResolutionResult> done = gateway.ResolveUnknown(r);   // any thread
//   // OK: UNKNOWN -> FILLED is durable; every later submission of ord-42 replays done->reply
//
// An operator settles an order the bridge cannot (the real MT5-CRS bridge has no ORDER_STATUS): it
// is the same UNKNOWN -> FILLED | REJECTED transition a late bridge reply makes
// (idempotency/record.h), recorded with the reply EncodeResolutionReply composes.
#ifndef ORDERGATE_GATEWAY_OPERATOR_RESOLUTION_H_
#define ORDERGATE_GATEWAY_OPERATOR_RESOLUTION_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "idempotency/record.h"

namespace ordergate::gateway {

enum class ResolvedOutcome : uint8_t {
  kFilled,    // MT5 executed it: the operator found its ticket
  kRejected,  // MT5 has no trace of it: the operator says it was never executed
};

// What the operator asks. Checked by CheckResolution (fields) and by the loop (the order's state).
struct Resolution {
  std::string uuid;
  // The client whose uuid it is: its CURVE name (transport/order_scope.h), "" without CURVE.
  std::string client;
  ResolvedOutcome outcome = ResolvedOutcome::kFilled;
  int64_t ticket = 0;           // kFilled: the MT5 ticket, > 0
  std::optional<double> price;  // kFilled, optional: the execution price, finite and > 0
  std::string reason;           // kRejected: why, 1..kMaxReasonBytes bytes
  // Who, for the log and the stored reply: the name the caller gave (may be empty; not
  // authenticated) and how the endpoint admitted it ("loopback 127.0.0.1:40312", "token from
  // 10.1.2.3:5120").
  std::string operator_name;
  std::string admitted_as;
};

inline constexpr size_t kMaxReasonBytes = 256;
inline constexpr size_t kMaxOperatorNameBytes = 64;
inline constexpr size_t kMaxClientNameBytes = 255;

// The fields of `r` alone (not the order's state): a uuid as the contract allows (1..64 of
// [A-Za-z0-9._:-]), a positive ticket and a finite positive price for kFilled, a reason of
// 1..kMaxReasonBytes for kRejected, an operator name of at most kMaxOperatorNameBytes. OK, or
// kInvalidArgument whose message names the field. Pure; any thread.
absl::Status CheckResolution(const Resolution& r);

// The reply recorded for the order and replayed to every later submission of its uuid (the
// gateway adds duplicate and gateway_us), appended to *out:
//   FILLED:   {"uuid":U,"status":"FILLED","ticket":T[,"price":P],"resolved_by":"operator",
//              "operator":NAME,"timestamp":ISO}
//   REJECTED: {"uuid":U,"status":"REJECTED","error_code":"OPERATOR_REJECTED","error_msg":REASON,
//              "resolved_by":"operator","operator":NAME,"timestamp":ISO}
// "operator" is left out when the name is empty. Pure; any thread.
void EncodeResolutionReply(const Resolution& r, int64_t now_unix_us, std::string* out);

// A resolution the loop applied: durable before it is returned.
struct ResolutionResult {
  std::string uuid;
  idempotency::RecordState from = idempotency::RecordState::kUnknown;
  idempotency::RecordState to = idempotency::RecordState::kAbsent;  // kFilled or kRejected
  std::string reply;             // the recorded reply (EncodeResolutionReply)
  int64_t resolved_unix_ms = 0;  // when it was recorded
};

// One request in a ResolutionQueue. `request` is immutable once queued; the rest is guarded by
// the queue's mutex.
struct PendingResolution {
  enum class Stage : uint8_t { kQueued, kTaken, kDone, kAbandoned };
  Resolution request;
  Stage stage = Stage::kQueued;
  absl::StatusOr<ResolutionResult> result = absl::UnknownError("not applied yet");
};

// The hand-off between the threads that ask and the loop that applies. A request is applied at
// most once, and its asker learns whether it was:
//  - queued and never taken within `wait` (the loop is stuck or not running): abandoned, so the
//    loop will never apply it: kUnavailable, nothing changed;
//  - taken: the asker waits for the verdict up to `wait` more (one store write); past that,
//    kDeadlineExceeded: it may yet be applied, so the caller must look the order up.
// Thread-safety: Submit() from any thread; HasQueued(), Take(), Complete() and Close() from the
// loop's thread.
class ResolutionQueue {
 public:
  // Queues `r` and blocks until the loop's verdict (its status is the loop's: OK with the result,
  // or kNotFound / kFailedPrecondition / kUnavailable with a message), or the bounds above.
  // After Close(): the Close status at once.
  absl::StatusOr<ResolutionResult> Submit(const Resolution& r, absl::Duration wait);

  // A relaxed load: the loop asks it every iteration, and takes the mutex only when true.
  bool HasQueued() const { return queued_count_.load(std::memory_order_relaxed) > 0; }
  // Moves every queued request to *out (appended) and marks it taken: from here its asker waits
  // for Complete(). Blocks only on the mutex (held for a few pointer moves by either side).
  void Take(std::vector<std::shared_ptr<PendingResolution>>* out);
  // The loop's verdict for a taken request; wakes its asker.
  void Complete(const std::shared_ptr<PendingResolution>& p,
                absl::StatusOr<ResolutionResult> result);
  // Refuses every queued request and every later Submit() with `why` (the loop has returned).
  void Close(const absl::Status& why);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<PendingResolution>> queued_;
  std::atomic<size_t> queued_count_{0};
  bool closed_ = false;
  absl::Status closed_why_;
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_OPERATOR_RESOLUTION_H_
