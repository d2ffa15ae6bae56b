// The ZeroMQ context and readiness polling, without exposing zmq:: types.
//
//   auto io = IoContext::Create();                  // start-up: may fail, never throws
//   PollEntry entries[] = {{front->poll_handle()}, {bridge->poll_handle()}};
//   absl::StatusOr<int> n = PollReadable(absl::MakeSpan(entries), /*timeout_ms=*/5);
//   if (n.ok() && entries[0].readable) { ... }
//
// Destroy every socket owner (FrontEnd, BridgeLink, OrderClient) before its IoContext: the context
// destructor waits for sockets to close, and queued replies are lost if the process exits first.
#ifndef ORDERGATE_TRANSPORT_IO_H_
#define ORDERGATE_TRANSPORT_IO_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ordergate::transport {

class IoContext {
 public:
  // kInternal (with message) when libzmq cannot create a context.
  static absl::StatusOr<std::unique_ptr<IoContext>> Create(int io_threads = 1);
  ~IoContext();
  IoContext(const IoContext&) = delete;
  IoContext& operator=(const IoContext&) = delete;

  // The zmq::context_t*, for transport/ internals only.
  void* native();

 private:
  IoContext();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An opaque socket handle from a poll_handle() accessor, or (handle null) a plain file descriptor
// such as an eventfd that another thread writes to wake the poller, and its readiness after
// PollReadable().
struct PollEntry {
  void* handle = nullptr;
  bool readable = false;
  int fd = -1;  // polled when `handle` is null
};

// Blocks up to timeout_ms (0: just checks, -1: forever) until one entry is readable. Returns the
// number of readable entries (0 on timeout or EINTR); kInternal when libzmq reports another error.
absl::StatusOr<int> PollReadable(absl::Span<PollEntry> entries, int timeout_ms);

// The process's descriptor limit (RLIMIT_NOFILE) after RaiseDescriptorLimit().
struct DescriptorLimit {
  uint64_t soft = 0;  // what open()/socket()/accept() are held to
  uint64_t hard = 0;  // what the soft limit may be raised to without privileges
};

// Raises the soft RLIMIT_NOFILE to the hard limit (Debian's shells start at 1024 soft, systemd
// services at 1024 soft / 524288 hard) and returns both. Process-wide; idempotent; safe from any
// thread (setrlimit is). The gateway's descriptors are reached through epoll (libzmq), poll
// (cpp-httplib, built with poll on Debian) and plain files (RocksDB), never select(), so numbers
// past FD_SETSIZE are harmless. kInternal when getrlimit/setrlimit fail; a failed raise leaves the
// limit as it was.
absl::StatusOr<DescriptorLimit> RaiseDescriptorLimit();

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_IO_H_
