// StoreReader (gateway/store_reader.h): point reads of the store off the pipeline thread.
#include "gateway/store_reader.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ordergate::gateway {

namespace {

constexpr int64_t kNsPerMs = 1'000'000;

absl::StatusOr<int> MakeWakeFd() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("store reader: eventfd: ", std::strerror(errno)));
  }
  return fd;
}

void Signal(int fd) {
  const uint64_t one = 1;
  (void)!::write(fd, &one, sizeof one);  // EAGAIN only when the counter is full: still readable
}

}  // namespace

absl::StatusOr<std::unique_ptr<StoreReader>> StoreReader::Make(idempotency::Store* store,
                                                               const Clock& clock, Options options,
                                                               bool manual) {
  absl::StatusOr<int> fd = MakeWakeFd();
  if (!fd.ok()) return fd.status();
  std::unique_ptr<StoreReader> r(new StoreReader(store, clock, options, *fd));
  r->manual_ = manual;
  if (!manual) r->thread_ = std::thread([raw = r.get()] { raw->Main(); });
  return r;
}

absl::StatusOr<std::unique_ptr<StoreReader>> StoreReader::Start(idempotency::Store* store,
                                                                const Clock& clock,
                                                                Options options) {
  return Make(store, clock, options, /*manual=*/false);
}

absl::StatusOr<std::unique_ptr<StoreReader>> StoreReader::StartManual(idempotency::Store* store,
                                                                      const Clock& clock,
                                                                      Options options) {
  return Make(store, clock, options, /*manual=*/true);
}

StoreReader::StoreReader(idempotency::Store* store, const Clock& clock, Options options,
                         int wake_fd)
    : store_(store), clock_(clock), options_(options), wake_fd_(wake_fd) {}

StoreReader::~StoreReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
}

bool StoreReader::Submit(uint64_t ticket, std::string key) {
  if (outstanding_ >= options_.max_queued) return false;
  ++outstanding_;
  Read read{ticket, std::move(key)};
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_.push_back(std::move(read));
  }
  if (!manual_) cv_.notify_all();  // no system call unless the reader is asleep on cv_
  return true;
}

void StoreReader::TakeDone(std::vector<Result>* out) {
  if (outstanding_ == 0) return;
  std::vector<Result> taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken.swap(done_);
  }
  uint64_t n = 0;
  (void)!::read(wake_fd_, &n, sizeof n);  // EAGAIN when already cleared: nothing to do
  outstanding_ -= taken.size();
  for (Result& r : taken) out->push_back(std::move(r));
}

bool StoreReader::ReadPending() {
  std::deque<Read> reads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reads.swap(queued_);
  }
  if (reads.empty()) return false;
  for (const Read& read : reads) {
    Result result = ReadOne(read);
    std::lock_guard<std::mutex> lock(mu_);
    done_.push_back(std::move(result));
  }
  Signal(wake_fd_);
  return true;
}

bool StoreReader::has_queued() {
  std::lock_guard<std::mutex> lock(mu_);
  return !queued_.empty();
}

void StoreReader::Drain(std::vector<Result>* out) {
  if (manual_) ReadPending();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return queued_.empty() && in_progress_ == 0; });
  }
  TakeDone(out);
}

StoreReader::Result StoreReader::ReadOne(const Read& r) {
  Result result;
  result.ticket = r.ticket;
  if (clock_.SteadyNs() < paused_until_ns_) {
    result.record = absl::Status(absl::StatusCode::kUnavailable, "");
    return result;
  }
  result.record = store_->Lookup(r.key);
  if (!result.record.ok()) {
    paused_until_ns_ = clock_.SteadyNs() + options_.pause_ms * kNsPerMs;
  }
  return result;
}

void StoreReader::Main() {
  // Named for top -H, perf and gdb: time spent here is the store's read path.
  (void)pthread_setname_np(pthread_self(), "og-reader");
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queued_.empty(); });
    if (queued_.empty()) return;  // stopping, and every queued read is done
    Read read = std::move(queued_.front());
    queued_.pop_front();
    ++in_progress_;
    lock.unlock();
    Result result = ReadOne(read);
    lock.lock();
    --in_progress_;
    done_.push_back(std::move(result));
    Signal(wake_fd_);
    cv_.notify_all();  // Drain() may be waiting for the last one
  }
}

}  // namespace ordergate::gateway
