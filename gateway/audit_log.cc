#include "gateway/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"
#include "transport/iso_time.h"
#include "transport/json_write.h"

namespace ordergate::gateway {

struct AuditLog::Entry {
  AuditEventKind kind = AuditEventKind::kSent;
  int64_t unix_us = 0;
  std::string identity;
  std::string uuid;
  std::string bridge_uuid;
  std::string action;
  std::string symbol;
  std::string type;
  double volume = 0;
  double price = 0;
  std::string ticket;
  std::string error_code;
  std::string message;
  std::string reply;

  // assign() keeps each string's capacity: a reused entry allocates nothing.
  void Set(const AuditEvent& e) {
    kind = e.kind;
    unix_us = e.unix_us;
    identity.assign(e.identity.data(), e.identity.size());
    uuid.assign(e.uuid.data(), e.uuid.size());
    bridge_uuid.assign(e.bridge_uuid.data(), e.bridge_uuid.size());
    action.assign(e.action.data(), e.action.size());
    symbol.assign(e.symbol.data(), e.symbol.size());
    type.assign(e.type.data(), e.type.size());
    volume = e.volume;
    price = e.price;
    ticket.assign(e.ticket.data(), e.ticket.size());
    error_code.assign(e.error_code.data(), e.error_code.size());
    message.assign(e.message.data(), e.message.size());
    reply.assign(e.reply.data(), e.reply.size());
  }
};

// The writer's parser of outcomes' replies (a recorded bridge reply: valid JSON).
struct ReplyReader {
  simdjson::dom::parser parser;
  std::string ticket;
  std::string error_code;

  // Fills ticket and error_code from `reply` (each "" when absent).
  void Read(absl::string_view reply) {
    ticket.clear();
    error_code.clear();
    if (reply.empty()) return;
    simdjson::dom::element root;
    if (parser.parse(reply.data(), reply.size()).get(root) != simdjson::SUCCESS) return;
    simdjson::dom::element v;
    if (root["ticket"].get(v) == simdjson::SUCCESS) {
      int64_t i = 0;
      uint64_t u = 0;
      std::string_view str;
      if (v.get_int64().get(i) == simdjson::SUCCESS) {
        ticket = absl::StrCat(i);
      } else if (v.get_uint64().get(u) == simdjson::SUCCESS) {
        ticket = absl::StrCat(u);
      } else if (v.get_string().get(str) == simdjson::SUCCESS) {
        ticket.assign(str.data(), str.size());
      }
      if (ticket == "0") ticket.clear();
    }
    std::string_view code;
    if (root["error_code"].get_string().get(code) == simdjson::SUCCESS) {
      error_code.assign(code.data(), code.size());
    }
  }
};

namespace {

constexpr int64_t kDropLogIntervalMs = 10'000;

std::string Errno(int err) { return std::string(std::strerror(err)); }

void Field(absl::string_view name, absl::string_view value, std::string* out) {
  if (value.empty()) return;
  out->append(",\"");
  out->append(name.data(), name.size());
  out->append("\":");
  AppendJsonString(value, out);
}

void Number(absl::string_view name, double value, std::string* out) {
  if (!(value > 0)) return;
  out->append(",\"");
  out->append(name.data(), name.size());
  out->append("\":");
  AppendJsonNumber(value, out);
}

int OpenForAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

}  // namespace

absl::string_view AuditEventName(AuditEventKind kind) {
  switch (kind) {
    case AuditEventKind::kSent:
      return "sent";
    case AuditEventKind::kDuplicate:
      return "duplicate";
    case AuditEventKind::kConflict:
      return "conflict";
    case AuditEventKind::kRiskRefused:
      return "risk_refused";
    case AuditEventKind::kFilled:
      return "filled";
    case AuditEventKind::kRejected:
      return "rejected";
    case AuditEventKind::kUnknown:
      return "unknown";
    case AuditEventKind::kResolved:
      return "resolved";
  }
  return "unknown";
}

std::string AuditLogPath(absl::string_view setting, absl::string_view data_dir) {
  if (setting.empty() || setting.front() == '/') return std::string(setting);
  return absl::StrCat(data_dir, "/", setting);
}

void AuditLog::AppendLine(const Entry& e, ReplyReader* reader, std::string* out) {
  out->append("{\"time\":\"");
  AppendIsoTimestamp(e.unix_us, /*basic=*/false, out);
  out->append("\",\"event\":\"");
  const absl::string_view event = AuditEventName(e.kind);
  out->append(event.data(), event.size());
  out->append("\",\"identity\":");
  AppendJsonString(e.identity, out);
  out->append(",\"uuid\":");
  AppendJsonString(e.uuid, out);
  Field("bridge_uuid", e.bridge_uuid, out);
  Field("action", e.action, out);
  Field("symbol", e.symbol, out);
  Field("type", e.type, out);
  Number("volume", e.volume, out);
  Number("price", e.price, out);
  reader->Read(e.reply);
  Field("ticket", e.ticket.empty() ? absl::string_view(reader->ticket) : e.ticket, out);
  Field("error_code", e.error_code.empty() ? absl::string_view(reader->error_code) : e.error_code,
        out);
  Field("message", e.message, out);
  out->append("}\n");
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options) {
  if (options.path.empty() || options.max_bytes < 1 || options.keep < 1 ||
      options.queue_capacity == 0 || options.sync_interval_ms < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "audit log \"", options.path, "\": needs a path, max_bytes >= 1, keep >= 1, a queue"));
  }
  const int fd = OpenForAppend(options.path);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit log ", options.path, ": cannot open: ", Errno(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("audit log ", options.path, ": cannot stat: ", Errno(err)));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(options), fd, st.st_size));
}

AuditLog::AuditLog(AuditLogOptions options, int fd, int64_t size_bytes)
    : options_(std::move(options)),
      fd_(fd),
      size_bytes_(size_bytes),
      reader_(std::make_unique<ReplyReader>()),
      pending_(std::make_unique<Batch>()),
      writing_(std::make_unique<Batch>()) {
  writer_ = std::thread([this] { Main(); });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();
  Sync();
  if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::Record(const AuditEvent& e) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Batch& b = *pending_;
    if (b.count == options_.queue_capacity) {
      lines_dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (b.count == b.entries.size()) b.entries.emplace_back();
    b.entries[b.count++].Set(e);
    ++queued_seq_;
    wake = writer_idle_ && b.count == 1;
  }
  // At most one wake-up per batch the writer takes: none while it is busy writing.
  if (wake) wake_.notify_one();
  return true;
}

void AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_seq_;
  if (writer_idle_) wake_.notify_one();
  written_.wait(lock, [&] { return written_seq_ >= target; });
}

void AuditLog::Main() {
  using Clock = std::chrono::steady_clock;
  auto last_sync = Clock::now();
  auto last_drop_log = Clock::now() - std::chrono::milliseconds(kDropLogIntervalMs);
  uint64_t dropped_logged = 0;
  const auto sync_interval = std::chrono::milliseconds(options_.sync_interval_ms);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      writer_idle_ = true;
      wake_.wait_for(lock, sync_interval, [&] { return pending_->count > 0 || stop_; });
      writer_idle_ = false;
      if (pending_->count == 0 && stop_) return;
      std::swap(pending_, writing_);
    }
    const size_t n = writing_->count;
    if (n > 0) WriteBatch(*writing_);
    writing_->count = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      written_seq_ += n;
    }
    written_.notify_all();
    const auto now = Clock::now();
    if (dirty_ && now - last_sync >= sync_interval) {
      Sync();
      last_sync = now;
    }
    const uint64_t dropped = lines_dropped();
    if (dropped != dropped_logged &&
        now - last_drop_log >= std::chrono::milliseconds(kDropLogIntervalMs)) {
      spdlog::warn(
          "audit log {}: {} events dropped since the last report (queue full at {}); "
          "the disk is not keeping up",
          options_.path, dropped - dropped_logged, options_.queue_capacity);
      dropped_logged = dropped;
      last_drop_log = now;
    }
  }
}

void AuditLog::WriteBatch(const Batch& batch) {
  buf_.clear();
  uint64_t lines_in_buf = 0;
  size_t line_start = 0;
  auto flush_buf = [&] {
    if (buf_.empty()) return;
    if (WriteAll(buf_)) {
      size_bytes_ += static_cast<int64_t>(buf_.size());
      lines_written_.fetch_add(lines_in_buf, std::memory_order_relaxed);
    } else {
      lines_dropped_.fetch_add(lines_in_buf, std::memory_order_relaxed);
    }
    buf_.clear();
    lines_in_buf = 0;
  };
  for (size_t i = 0; i < batch.count; ++i) {
    line_start = buf_.size();
    AppendLine(batch.entries[i], reader_.get(), &buf_);
    const int64_t line_bytes = static_cast<int64_t>(buf_.size() - line_start);
    const int64_t before = size_bytes_ + static_cast<int64_t>(line_start);
    if (before > 0 && before + line_bytes > options_.max_bytes) {
      // The line goes to the next file: write what precedes it, rotate, keep the line.
      std::string line = buf_.substr(line_start);
      buf_.resize(line_start);
      flush_buf();
      Rotate();
      buf_ = std::move(line);
    }
    ++lines_in_buf;
  }
  flush_buf();
}

bool AuditLog::WriteAll(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("audit log {}: write failed: {}", options_.path, Errno(errno));
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  dirty_ = true;
  return true;
}

void AuditLog::Sync() {
  if (!dirty_ || fd_ < 0) return;
  if (::fdatasync(fd_) != 0) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("audit log {}: fdatasync failed: {}", options_.path, Errno(errno));
  }
  dirty_ = false;
}

void AuditLog::Rotate() {
  Sync();
  const std::string& p = options_.path;
  for (int64_t i = options_.keep - 1; i >= 1; --i) {
    const std::string from = absl::StrCat(p, ".", i);
    const std::string to = absl::StrCat(p, ".", i + 1);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("audit log: cannot rename {} to {}: {}", from, to, Errno(errno));
    }
  }
  const std::string first = absl::StrCat(p, ".1");
  if (::rename(p.c_str(), first.c_str()) != 0) {
    // The live file stays as it is and keeps growing: better a large file than a lost line.
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("audit log: cannot rename {} to {}: {}", p, first, Errno(errno));
    size_bytes_ = 0;  // tried again after another max_bytes, not at every line
    return;
  }
  const int fd = OpenForAppend(p);
  if (fd < 0) {
    // Keep appending to the renamed file (fd_ still refers to it) rather than lose lines.
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("audit log: cannot create {}: {}", p, Errno(errno));
    size_bytes_ = 0;
    return;
  }
  ::close(fd_);
  fd_ = fd;
  size_bytes_ = 0;
}

}  // namespace ordergate::gateway
