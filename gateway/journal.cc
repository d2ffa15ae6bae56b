// Journal (gateway/journal.h): the store's writer thread and its hand-over slot.
#include "gateway/journal.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "gateway/clock.h"

namespace ordergate::gateway {
namespace {

// After a batch, the journal thread waits this long, spinning, for the next one before it sleeps
// on the condition variable (Aeron's and LMAX's back-off idea): under load the next batch usually
// comes within tens of microseconds, about what a futex wake-up of a sleeping thread costs, and a
// sleeping journal would add that to every order's reservation. Idle, it costs 50 µs of one core
// per batch, never more.
constexpr int64_t kSpinNs = int64_t{50} * 1000;

// Spinning only pays where there are cores to spare: with two or three CPUs to run on, the 50 µs
// would be taken from the bridge link's I/O thread or a neighbour process, and the wake-up it saves
// is cheaper than the core it costs. Counted from the process's affinity (taskset), not the
// machine's CPUs.
int64_t SpinNsForThisProcess() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = sched_getaffinity(0, sizeof set, &set) == 0
                       ? CPU_COUNT(&set)
                       : static_cast<int>(std::thread::hardware_concurrency());
  return cpus >= 4 ? kSpinNs : 0;
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// The spin's own clock: real time, whatever clock the pipeline runs on (a ManualClock that does not
// move would keep an idle journal spinning).
int64_t RealSteadyNs() { return SystemClock().SteadyNs(); }

}  // namespace

absl::StatusOr<std::unique_ptr<Journal>> Journal::Start(idempotency::Store* store,
                                                        const Clock& clock) {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("journal: eventfd: ", std::strerror(errno)));
  }
  std::unique_ptr<Journal> j(new Journal(store, clock, fd));
  j->thread_ = std::thread([raw = j.get()] { raw->Main(); });
  return j;
}

absl::StatusOr<std::unique_ptr<Journal>> Journal::StartManual(idempotency::Store* store,
                                                              const Clock& clock) {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("journal: eventfd: ", std::strerror(errno)));
  }
  std::unique_ptr<Journal> j(new Journal(store, clock, fd));
  j->manual_ = true;
  return j;
}

bool Journal::WritePending() {
  Batch* b = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    b = to_write_;
    to_write_ = nullptr;
    has_work_.store(false, std::memory_order_relaxed);
  }
  if (b == nullptr) return false;
  WriteBatch(b);
  return true;
}

Journal::Journal(idempotency::Store* store, const Clock& clock, int wake_fd)
    : store_(store), clock_(clock), wake_fd_(wake_fd) {}

Journal::~Journal() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
}

void Journal::Write(Batch* batch) {
  batch->results.assign(batch->changes.size(), idempotency::ChangeResult{});
  busy_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    to_write_ = batch;
    has_work_.store(true, std::memory_order_release);
  }
  cv_.notify_one();  // no system call unless the journal thread is asleep on cv_
}

Journal::Batch* Journal::TakeWritten() {
  if (!busy_) return nullptr;
  Batch* done = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done = written_;
    written_ = nullptr;
  }
  if (done == nullptr) return nullptr;
  uint64_t n = 0;
  (void)!::read(wake_fd_, &n, sizeof n);  // EAGAIN when already cleared: nothing to do
  busy_ = false;
  return done;
}

void Journal::WaitWritten() {
  if (!busy_) return;
  if (manual_) WritePending();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return written_ != nullptr; });
}

void Journal::Main() {
  const int64_t spin_ns = SpinNsForThisProcess();
  // Named for top -H, perf and gdb: the journal's CPU is the store's, not the pipeline's.
  (void)pthread_setname_np(pthread_self(), "og-journal");
  while (true) {
    Batch* b = nullptr;
    for (const int64_t until = RealSteadyNs() + spin_ns;
         !has_work_.load(std::memory_order_acquire) && RealSteadyNs() < until;) {
      CpuRelax();
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || to_write_ != nullptr; });
      if (to_write_ == nullptr) return;  // stopping, nothing left to write
      b = to_write_;
      to_write_ = nullptr;
      has_work_.store(false, std::memory_order_relaxed);
    }
    WriteBatch(b);
  }
}

void Journal::WriteBatch(Batch* b) {
  b->apply_start_ns = clock_.SteadyNs();
  b->status = store_->Apply(b->changes, b->now_unix_ms, absl::MakeSpan(b->results));
  b->apply_end_ns = clock_.SteadyNs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    written_ = b;
  }
  cv_.notify_all();  // WaitWritten()
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

}  // namespace ordergate::gateway
