#include "idempotency/durable_mark.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace ordergate::idempotency::internal {
namespace {

// One line: "ordergate-durable-mark v2 <sequence> <manifest number> <manifest bytes> <check>\n",
// where <check> is the FNV-1a hash (64-bit, hex) of the body "v2 <sequence> <number> <bytes>": a
// file altered by hand or by damage reads as damaged instead of as other numbers. The v1 line
// ("ordergate-durable-mark v1 <sequence> <check>\n", the check over "v1 <sequence>"), written
// before the MANIFEST part, is still read: it has no MANIFEST part (number 0).
constexpr absl::string_view kMagic = "ordergate-durable-mark";
// The file is one 512-byte block: the line, then zero bytes. It is rewritten in place (one aligned
// sector: a device writes it whole or not at all), so a mark write is one fdatasync of data alone —
// no new inode, rename or directory entry, whose file-system journal commits would hold up the
// WAL's own fdatasync (measured on the device machine with the older mark's writes held off: sync
// p99 at 10 k orders/s went from 2.2–3.0 ms to 1.0 ms; docs/BENCHMARKS.md, run 4). A file of the
// line alone (no padding) is a mark written before this format, still read.
constexpr size_t kBlockBytes = 512;
constexpr size_t kMaxFileBytes = kBlockBytes;

uint64_t Fnv1a(absl::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string Checked(const std::string& body) {
  return absl::StrCat(kMagic, " ", body, " ", absl::Hex(Fnv1a(body), absl::kZeroPad16), "\n");
}
std::string LineV1(uint64_t sequence) { return Checked(absl::StrCat("v1 ", sequence)); }
std::string LineV2(const DurableMark& mark) {
  return Checked(
      absl::StrCat("v2 ", mark.sequence, " ", mark.manifest.number, " ", mark.manifest.bytes));
}

// The mark `text` (the line, padding removed) holds, or nullopt when it is not a line this code
// writes: the numbers must print back to the very same line, check included.
std::optional<DurableMark> ParseLine(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ' ');
  if (parts.size() < 2 || parts[0] != kMagic) return std::nullopt;
  DurableMark mark;
  if (parts[1] == "v1" && parts.size() == 4 && absl::SimpleAtoi(parts[2], &mark.sequence) &&
      text == LineV1(mark.sequence)) {
    return mark;
  }
  if (parts[1] == "v2" && parts.size() == 6 && absl::SimpleAtoi(parts[2], &mark.sequence) &&
      absl::SimpleAtoi(parts[3], &mark.manifest.number) &&
      absl::SimpleAtoi(parts[4], &mark.manifest.bytes) && text == LineV2(mark)) {
    return mark;
  }
  return std::nullopt;
}

std::string Errno(absl::string_view what, const std::string& path) {
  return absl::StrCat(what, " ", path, ": ", std::strerror(errno));
}

// Writes all of `data` to `fd` at `offset`, retrying short writes and EINTR.
bool PwriteAll(int fd, absl::string_view data, off_t offset) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return true;
}

bool FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

absl::StatusOr<std::optional<DurableMark>> ReadDurableMark(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kDurableMarkFile);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<DurableMark>();
    return absl::UnavailableError(Errno("cannot open", path));
  }
  char buf[kMaxFileBytes + 1];
  size_t size = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf + size, sizeof(buf) - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = Errno("cannot read", path);
      ::close(fd);
      return absl::UnavailableError(why);
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
    if (size == sizeof(buf)) break;
  }
  ::close(fd);
  absl::string_view text(buf, size);
  // The block form: the line up to its newline, and nothing but zero bytes after it.
  if (size == kBlockBytes) {
    const size_t newline = text.find('\n');
    const bool padded = newline != absl::string_view::npos &&
                        text.substr(newline + 1).find_first_not_of('\0') == absl::string_view::npos;
    if (padded) text = text.substr(0, newline + 1);
  }
  std::optional<DurableMark> mark;
  if (size <= kMaxFileBytes) mark = ParseLine(text);
  if (!mark.has_value()) {
    return absl::DataLossError(absl::StrCat("its durable mark ", path, " is damaged (", size,
                                            " bytes that are not a mark this program wrote)"));
  }
  return mark;
}

absl::Status WriteDurableMark(const std::string& dir, const DurableMark& mark) {
  const std::string path = absl::StrCat(dir, "/", kDurableMarkFile);
  struct stat st;
  const bool existed = ::stat(path.c_str(), &st) == 0;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(Errno("cannot open", path));
  std::string block = LineV2(mark);
  block.resize(kBlockBytes, '\0');
  // In place, at offset 0: the block replaces the previous one whole (see kBlockBytes). A mark of
  // the older, shorter form is overwritten and the file grows to the block once.
  const bool written = PwriteAll(fd, block, 0) && ::fdatasync(fd) == 0;
  const std::string write_error = written ? std::string() : Errno("cannot write", path);
  ::close(fd);
  if (!written) return absl::UnavailableError(write_error);
  // A new file's directory entry is durable once the directory is (the first write only).
  if (!existed && !FsyncPath(dir, O_RDONLY | O_DIRECTORY)) {
    return absl::UnavailableError(Errno("cannot fsync the directory", dir));
  }
  return absl::OkStatus();
}

DurableMarkWriter::DurableMarkWriter(std::string dir, DurableMark written, ManifestProbe probe,
                                     int64_t period_ms)
    : dir_(std::move(dir)),
      probe_(std::move(probe)),
      period_ms_(period_ms),
      published_(written.sequence),
      written_(written),
      thread_([this] { Run(); }) {}

DurableMarkWriter::~DurableMarkWriter() { Stop(); }

void DurableMarkWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

DurableMark DurableMarkWriter::written() const {
  std::lock_guard<std::mutex> lock(write_mu_);
  return written_;
}

absl::Status DurableMarkWriter::WriteNow() {
  std::lock_guard<std::mutex> lock(write_mu_);
  return WriteLocked();
}

absl::Status DurableMarkWriter::WriteLocked() {
  // The probe runs under write_mu_: two writers cannot probe in one order and write in the other,
  // so the file never goes back to an older MANIFEST state. The sequence only grows (Publish()).
  DurableMark target = written_;
  target.sequence = std::max(written_.sequence, published_.load(std::memory_order_relaxed));
  if (probe_) {
    if (const std::optional<ManifestState> manifest = probe_(); manifest.has_value()) {
      target.manifest = *manifest;
    }
  }
  if (target == written_) return absl::OkStatus();
  absl::Status written = WriteDurableMark(dir_, target);
  if (written.ok()) written_ = target;
  return written;
}

void DurableMarkWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(period_ms_), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();             // Stop() must not wait on the lock for the fsyncs, only on the join
    WriteNow().IgnoreError();  // retried at the next wake-up
    lock.lock();
  }
}

}  // namespace ordergate::idempotency::internal
