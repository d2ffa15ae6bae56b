#include "transport/io.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <vector>
#include <zmq.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ordergate::transport {

struct IoContext::Impl {
  explicit Impl(int io_threads) : ctx(io_threads) {}
  zmq::context_t ctx;
};

IoContext::IoContext() = default;
IoContext::~IoContext() = default;

absl::StatusOr<std::unique_ptr<IoContext>> IoContext::Create(int io_threads) {
  if (io_threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat("io_threads must be >= 1, got ", io_threads));
  }
  try {
    std::unique_ptr<IoContext> io(new IoContext());
    io->impl_ = std::make_unique<Impl>(io_threads);
    return io;
  } catch (const zmq::error_t& e) {
    return absl::InternalError(absl::StrCat("zmq context: ", e.what()));
  }
}

void* IoContext::native() { return &impl_->ctx; }

absl::StatusOr<int> PollReadable(absl::Span<PollEntry> entries, int timeout_ms) {
  // The gateway polls two or three sockets; a stack array keeps the hot loop allocation-free.
  constexpr size_t kStackItems = 8;
  zmq_pollitem_t stack_items[kStackItems];
  std::vector<zmq_pollitem_t> heap_items;
  zmq_pollitem_t* items = stack_items;
  if (entries.size() > kStackItems) {
    heap_items.resize(entries.size());
    items = heap_items.data();
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    items[i] = zmq_pollitem_t{entries[i].handle, entries[i].fd, ZMQ_POLLIN, 0};
    entries[i].readable = false;
  }
  const int rc = zmq_poll(items, static_cast<int>(entries.size()), timeout_ms);
  if (rc < 0) {
    const int err = zmq_errno();
    if (err == EINTR) return 0;
    return absl::InternalError(absl::StrCat("zmq_poll: ", zmq_strerror(err)));
  }
  int readable = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (items[i].revents & ZMQ_POLLIN) {
      entries[i].readable = true;
      ++readable;
    }
  }
  return readable;
}

absl::StatusOr<DescriptorLimit> RaiseDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return absl::InternalError(absl::StrCat("getrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  if (lim.rlim_cur != lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      return absl::InternalError(
          absl::StrCat("setrlimit(RLIMIT_NOFILE, ", lim.rlim_max, "): ", std::strerror(errno)));
    }
    lim = raised;
  }
  // RLIM_INFINITY is the largest rlim_t; the kernel caps descriptors at nr_open anyway.
  return DescriptorLimit{static_cast<uint64_t>(lim.rlim_cur), static_cast<uint64_t>(lim.rlim_max)};
}

}  // namespace ordergate::transport
