// The process and data-directory readings behind /metrics, against what the test itself did to the
// process and the directory, and the names the exposition uses (Prometheus conventions: one
// labelled family per dimension, standard process_* names, units in the names).
#include "gateway/metrics_exposition.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline_util.h"

using pipeline_util::TempDir;
using pipeline_util::TestConfig;

namespace {

void WriteFile(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out << std::string(bytes, 'x');
}

std::map<std::string, std::string> SampleLines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

}  // namespace

TEST_CASE("the process readings count a descriptor the test opens and this process's own CPU time",
          "[gateway]") {
  const og::gateway::ProcessStats before = og::gateway::ReadProcessStats();
  REQUIRE(before.open_fds.has_value());
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const og::gateway::ProcessStats during = og::gateway::ReadProcessStats();
  ::close(fd);
  REQUIRE(during.open_fds.has_value());
  CHECK(*during.open_fds == *before.open_fds + 1);

  // Spin for 50 ms of this thread's CPU: the process's CPU seconds grow by at least that.
  REQUIRE(before.cpu_seconds.has_value());
  timespec start{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  for (;;) {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    if ((now.tv_sec - start.tv_sec) * 1'000'000'000L + (now.tv_nsec - start.tv_nsec) >
        50'000'000L) {
      break;
    }
  }
  const og::gateway::ProcessStats after = og::gateway::ReadProcessStats();
  REQUIRE(after.cpu_seconds.has_value());
  // Clock ticks are 10 ms: allow one tick of rounding on each reading.
  CHECK(*after.cpu_seconds - *before.cpu_seconds >= 0.05 - 0.02);

  REQUIRE(after.resident_bytes.has_value());
  CHECK(*after.resident_bytes > 1024 * 1024);  // a C++ test binary with RocksDB linked in
  REQUIRE(after.virtual_bytes.has_value());
  CHECK(*after.virtual_bytes >= *after.resident_bytes);
  REQUIRE(after.max_fds.has_value());
  CHECK(*after.max_fds > *after.open_fds);
  REQUIRE(after.start_time_seconds.has_value());
  const double now_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(*after.start_time_seconds <= now_s + 1);
  CHECK(*after.start_time_seconds > now_s - 24 * 3600);  // started within the day
}

TEST_CASE(
    "the store size is the sum of the files below the data directory, subdirectories included",
    "[gateway]") {
  const std::string dir = TempDir("metrics-store-size");
  std::filesystem::create_directories(dir + "/sub");
  WriteFile(dir + "/a", 1000);
  WriteFile(dir + "/sub/b", 2345);
  const og::gateway::DataDirStats s = og::gateway::ReadDataDirStats(dir);
  REQUIRE(s.store_bytes.has_value());
  CHECK(*s.store_bytes == 3345);
  REQUIRE(s.filesystem_size_bytes.has_value());
  REQUIRE(s.filesystem_avail_bytes.has_value());
  CHECK(*s.filesystem_avail_bytes <= *s.filesystem_size_bytes);
  CHECK(*s.filesystem_size_bytes > 0);

  const og::gateway::DataDirStats missing = og::gateway::ReadDataDirStats(dir + "/no-such-dir");
  CHECK_FALSE(missing.store_bytes.has_value());
  CHECK_FALSE(missing.filesystem_size_bytes.has_value());
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "/metrics names outcomes as one labelled family and exports the process and store readings "
    "under their conventional names",
    "[gateway]") {
  const std::string dir = TempDir("metrics-names");
  auto gw = og::gateway::Gateway::Start(TestConfig("tcp://127.0.0.1:1", dir));
  REQUIRE(gw.ok());
  const uint64_t dir_bytes_before = *og::gateway::ReadDataDirStats(dir).store_bytes;
  // process_cpu_seconds_total counts in the kernel's clock ticks (10 ms): a test process started
  // a moment ago (ctest runs each case alone) may not have used one yet. Use 30 ms of CPU first.
  for (timespec cpu{}; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 && cpu.tv_sec == 0 &&
                       cpu.tv_nsec < 30'000'000;) {
  }
  const std::string text = og::gateway::RenderMetrics(**gw);
  const uint64_t dir_bytes_after = *og::gateway::ReadDataDirStats(dir).store_bytes;
  const auto m = SampleLines(text);
  for (const char* outcome : {"filled", "rejected", "unknown"}) {
    INFO(outcome);
    CHECK(m.at(std::string("ordergate_orders_total{outcome=\"") + outcome + "\"}") == "0");
  }
  CHECK(text.find("# TYPE ordergate_orders_total counter\n") != std::string::npos);
  CHECK(m.at("ordergate_unknown_orders") == "0");  // an empty store
  for (const char* old_name : {"ordergate_orders_filled_total", "ordergate_orders_rejected_total",
                               "ordergate_orders_unknown_total", "ordergate_order_latency_seconds",
                               "ordergate_in_flight "}) {
    INFO(old_name);
    CHECK(text.find(old_name) == std::string::npos);
  }
  CHECK(text.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
  for (const char* gauge : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                            "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                            "process_start_time_seconds", "ordergate_data_filesystem_size_bytes",
                            "ordergate_data_filesystem_avail_bytes"}) {
    INFO(gauge);
    REQUIRE(m.contains(gauge));
    CHECK(std::stod(m.at(gauge)) > 0);
  }
  // The gateway's own store, open in `dir`: RocksDB's files are there.
  const double store_bytes = std::stod(m.at("ordergate_store_size_bytes"));
  CHECK(store_bytes > 0);
  CHECK(store_bytes >= static_cast<double>(std::min(dir_bytes_before, dir_bytes_after)));
  CHECK(store_bytes <= static_cast<double>(std::max(dir_bytes_before, dir_bytes_after)));
  // Every stage has a histogram with the same le bounds, +Inf equal to its count.
  for (absl::string_view stage : og::gateway::kLatencyStageNames) {
    const std::string label = "{stage=\"" + std::string(stage) + "\"";
    CHECK(m.at("ordergate_stage_latency_seconds_bucket" + label + ",le=\"1e-05\"}") == "0");
    CHECK(m.at("ordergate_stage_latency_seconds_bucket" + label + ",le=\"+Inf\"}") == "0");
    CHECK(m.at("ordergate_stage_latency_seconds_count" + label + "}") == "0");
  }
  gw->reset();
  std::filesystem::remove_all(dir);
}
