// EmbeddedInbox (gateway/embedded_port.h).
#include "gateway/embedded_port.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ordergate::gateway {

absl::StatusOr<std::unique_ptr<EmbeddedInbox>> EmbeddedInbox::Create() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return absl::InternalError(absl::StrCat("inbox: eventfd: ", std::strerror(errno)));
  return std::unique_ptr<EmbeddedInbox>(new EmbeddedInbox(fd));
}

EmbeddedInbox::~EmbeddedInbox() { ::close(wake_fd_); }

bool EmbeddedInbox::Push(const EmbeddedSubmission& s) {
  bool was_empty = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    was_empty = queued_.empty();
    queued_.push_back(s);
  }
  // One wake-up per burst: the loop takes the whole queue when it wakes.
  if (was_empty) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  return true;
}

void EmbeddedInbox::Drain(std::vector<EmbeddedSubmission>* out) {
  out->clear();
  uint64_t n = 0;
  // Cleared before the swap: a Push after the swap finds the queue empty and writes again.
  (void)!::read(wake_fd_, &n, sizeof n);
  std::lock_guard<std::mutex> lock(mu_);
  out->swap(queued_);
}

void EmbeddedInbox::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

}  // namespace ordergate::gateway
