// StdioLogger: RocksDB's info log ("LOG" in the store's directory), written through stdio. Internal
// to idempotency/: rocksdb:: types appear here and never leave the folder.
#ifndef ORDERGATE_IDEMPOTENCY_STDIO_LOGGER_H_
#define ORDERGATE_IDEMPOTENCY_STDIO_LOGGER_H_

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>

#include "rocksdb/env.h"

namespace ordergate::idempotency::internal {

// RocksDB's info log ("LOG" in the DB directory), written through stdio. RocksDB's own file logger
// is not usable on a full disk: Debian builds RocksDB with assertions on, and its writer asserts
// (aborts the process) on the first write after a failed one. A full disk must make Apply() fail
// closed, not kill the gateway, so this logger simply drops what it cannot write. Rotates once at
// `max_bytes`.
class StdioLogger final : public rocksdb::Logger {
 public:
  StdioLogger(std::string path, long max_bytes)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
        path_(std::move(path)),
        max_bytes_(max_bytes) {
    file_ = std::fopen(path_.c_str(), "a");
    if (file_ != nullptr) size_ = std::ftell(file_);
  }
  ~StdioLogger() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }

  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[2048];
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
        1'000'000;
    std::tm tm_utc{};
    gmtime_r(&secs, &tm_utc);
    size_t n = std::strftime(line, sizeof(line), "%Y/%m/%d-%H:%M:%S", &tm_utc);
    n += static_cast<size_t>(
        std::snprintf(line + n, sizeof(line) - n, ".%06lld ", static_cast<long long>(micros)));
    const int body = std::vsnprintf(line + n, sizeof(line) - n - 1, format, ap);
    if (body > 0) n = std::min(sizeof(line) - 2, n + static_cast<size_t>(body));
    line[n++] = '\n';
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ == nullptr) return;
    std::fwrite(line, 1, n, file_);
    std::fflush(file_);
    size_ += static_cast<long>(n);
    if (size_ > max_bytes_) {
      std::fclose(file_);
      std::rename(path_.c_str(), (path_ + ".old").c_str());
      file_ = std::fopen(path_.c_str(), "w");
      size_ = 0;
    }
  }

  void Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ != nullptr) std::fflush(file_);
  }

 protected:
  rocksdb::Status CloseImpl() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
    return rocksdb::Status::OK();
  }

 private:
  const std::string path_;
  const long max_bytes_;
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  long size_ = 0;
};

}  // namespace ordergate::idempotency::internal

#endif  // ORDERGATE_IDEMPOTENCY_STDIO_LOGGER_H_
