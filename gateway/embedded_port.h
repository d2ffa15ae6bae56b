// The pipeline's in-process door: how the public ordergate::Gateway (include/ordergate/gateway.h,
// gateway/embedded_gateway.cc) hands orders to Gateway::Loop without a socket, and how the loop
// hands their outcomes back.
//
//   EmbeddedInbox inbox;                    // made by the loop; Push() from any thread
//   inbox.Push({request, id, SteadyNs()});  // false once closed: answer the caller yourself
//   ... the loop polls inbox.wake_fd(), Drain()s, and answers through EmbeddedSink::Deliver(id, …)
//
// EmbeddedInbox owns the queue of submissions not yet taken by the loop (a mutex-guarded vector,
// swapped out whole by Drain, so the loop takes a burst with one lock) and an eventfd that is
// readable while that queue is non-empty. EmbeddedSink is implemented by the public Gateway; the
// loop calls it on its own thread.
#ifndef ORDERGATE_GATEWAY_EMBEDDED_PORT_H_
#define ORDERGATE_GATEWAY_EMBEDDED_PORT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/order.h"

namespace ordergate::gateway {

// One in-process order: already decoded and checked (DecodeRequest) on the submitting thread.
struct EmbeddedSubmission {
  Request request;
  uint64_t id = 0;          // the submitter's correlation id (> 0), echoed to Deliver
  int64_t received_ns = 0;  // steady clock at Submit(): gateway_us counts from here
};

// Called by the loop on its thread; implementations must not block (every order waits).
class EmbeddedSink {
 public:
  virtual ~EmbeddedSink() = default;
  // The one final reply for submission `id`: a reply object as the front end would send it (before
  // its duplicate/gateway_us fields). `recorded`: the outcome is in the store (FILLED, a bridge's
  // REJECTED, UNKNOWN), not a refusal of ordergate's that leaves the uuid free. Never PENDING: an
  // in-process submission has no reply deadline; at shutdown a still-unsettled one gets status
  // UNKNOWN, error_code GATEWAY_STOPPED.
  virtual void Deliver(uint64_t id, absl::string_view reply_object, bool duplicate, bool recorded,
                       int64_t gateway_us) = 0;
  // An UNKNOWN order of this gateway's store became FILLED or REJECTED (durable), with its reply.
  virtual void Resolved(absl::string_view uuid, absl::string_view reply_object) = 0;
};

class EmbeddedInbox {
 public:
  // kInternal (with message) when the eventfd cannot be made.
  static absl::StatusOr<std::unique_ptr<EmbeddedInbox>> Create();
  ~EmbeddedInbox();
  EmbeddedInbox(const EmbeddedInbox&) = delete;
  EmbeddedInbox& operator=(const EmbeddedInbox&) = delete;

  // Any thread; never blocks on anything but the queue's mutex. False (and `s` not queued) once
  // Close() was called.
  bool Push(const EmbeddedSubmission& s);
  // The loop: moves every queued submission into *out (cleared first) and clears wake_fd().
  void Drain(std::vector<EmbeddedSubmission>* out);
  // The loop, when it stops: later Push() calls return false; what is queued stays for a last
  // Drain().
  void Close();
  int wake_fd() const { return wake_fd_; }

 private:
  explicit EmbeddedInbox(int wake_fd) : wake_fd_(wake_fd) {}
  const int wake_fd_;
  std::mutex mu_;
  std::vector<EmbeddedSubmission> queued_;  // guarded by mu_
  bool closed_ = false;                     // guarded by mu_
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_EMBEDDED_PORT_H_
