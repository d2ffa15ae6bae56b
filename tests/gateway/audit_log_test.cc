// AuditLog (gateway/audit_log.h): its lines parse back as JSON with the event's fields, rotation
// by size never splits a line, and a full queue drops instead of blocking the caller.
#include "gateway/audit_log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "simdjson.h"

namespace ordergate::gateway {
namespace {

constexpr int64_t kUnixUs = 1'767'225'600'000'001;  // 2026-01-01T00:00:00.000001Z

struct Dir {
  std::string path;
  Dir() {
    char tmpl[] = "/tmp/og-audit-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~Dir() { std::filesystem::remove_all(path); }
};

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE(
    "Each event is one line of JSON holding its time, event, identity, uuid and the "
    "fields it carries, and nothing it does not",
    "[gateway][audit]") {
  Dir dir;
  const std::string path = dir.path + "/audit.jsonl";
  {
    auto log = AuditLog::Open({.path = path});
    REQUIRE(log.ok());
    CHECK((*log)->Record(AuditEvent{.kind = AuditEventKind::kSent,
                                    .unix_us = kUnixUs,
                                    .identity = "alpha",
                                    .uuid = "u-1",
                                    .bridge_uuid = "b-1",
                                    .action = "OPEN",
                                    .symbol = "EURUSD",
                                    .type = "BUY",
                                    .volume = 0.1,
                                    .price = 1.25}));
    CHECK((*log)->Record(AuditEvent{.kind = AuditEventKind::kRiskRefused,
                                    .unix_us = kUnixUs,
                                    .uuid = "u-2",
                                    .error_code = "RISK_LIMIT",
                                    .message = "max_volume 5 exceeded:\n\"volume\" 5.01"}));
    CHECK((*log)->Record(AuditEvent{.kind = AuditEventKind::kFilled,
                                    .unix_us = kUnixUs + 1,
                                    .identity = "alpha",
                                    .uuid = "u-1",
                                    .ticket = "123456"}));
    (*log)->Flush();
    CHECK((*log)->lines_written() == 3);
  }
  const std::vector<std::string> lines = Lines(path);
  REQUIRE(lines.size() == 3);
  simdjson::dom::parser parser;
  simdjson::dom::element sent = parser.parse(lines[0]);
  CHECK(std::string(sent["time"].get_string().value()) == "2026-01-01T00:00:00.000001Z");
  CHECK(std::string(sent["event"].get_string().value()) == "sent");
  CHECK(std::string(sent["identity"].get_string().value()) == "alpha");
  CHECK(std::string(sent["uuid"].get_string().value()) == "u-1");
  CHECK(std::string(sent["bridge_uuid"].get_string().value()) == "b-1");
  CHECK(std::string(sent["action"].get_string().value()) == "OPEN");
  CHECK(std::string(sent["symbol"].get_string().value()) == "EURUSD");
  CHECK(std::string(sent["type"].get_string().value()) == "BUY");
  CHECK(sent["volume"].get_double().value() == 0.1);
  CHECK(sent["price"].get_double().value() == 1.25);
  CHECK(sent["ticket"].error() == simdjson::NO_SUCH_FIELD);
  simdjson::dom::element refused = parser.parse(lines[1]);
  CHECK(std::string(refused["event"].get_string().value()) == "risk_refused");
  CHECK(std::string(refused["identity"].get_string().value()).empty());  // no CURVE: ""
  CHECK(std::string(refused["error_code"].get_string().value()) == "RISK_LIMIT");
  CHECK(std::string(refused["message"].get_string().value()) ==
        "max_volume 5 exceeded:\n\"volume\" 5.01");
  CHECK(refused["volume"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(refused["symbol"].error() == simdjson::NO_SUCH_FIELD);
  simdjson::dom::element filled = parser.parse(lines[2]);
  CHECK(std::string(filled["event"].get_string().value()) == "filled");
  CHECK(std::string(filled["ticket"].get_string().value()) == "123456");
  CHECK(std::string(filled["time"].get_string().value()) == "2026-01-01T00:00:00.000002Z");
  // The file is created for its owner only.
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("An outcome's ticket and error_code are read from its recorded reply by the writer",
          "[gateway][audit]") {
  Dir dir;
  const std::string path = dir.path + "/audit.jsonl";
  {
    auto log = AuditLog::Open({.path = path});
    REQUIRE(log.ok());
    (*log)->Record(AuditEvent{.kind = AuditEventKind::kFilled,
                              .uuid = "f",
                              .reply = R"({"uuid":"f","status":"FILLED","ticket":100000001})"});
    (*log)->Record(AuditEvent{
        .kind = AuditEventKind::kRejected,
        .uuid = "r",
        .reply = R"({"uuid":"r","status":"REJECTED","error_code":"NO_MONEY","ticket":0})"});
    (*log)->Record(AuditEvent{.kind = AuditEventKind::kFilled, .uuid = "x", .reply = "not json"});
    (*log)->Flush();
  }
  const std::vector<std::string> lines = Lines(path);
  REQUIRE(lines.size() == 3);
  simdjson::dom::parser parser;
  simdjson::dom::element filled = parser.parse(lines[0]);
  CHECK(std::string(filled["ticket"].get_string().value()) == "100000001");
  CHECK(filled["reply"].error() == simdjson::NO_SUCH_FIELD);  // the reply itself is not copied
  simdjson::dom::element rejected = parser.parse(lines[1]);
  CHECK(std::string(rejected["error_code"].get_string().value()) == "NO_MONEY");
  CHECK(rejected["ticket"].error() == simdjson::NO_SUCH_FIELD);  // ticket 0: none
  simdjson::dom::element odd = parser.parse(lines[2]);
  CHECK(std::string(odd["uuid"].get_string().value()) == "x");
  CHECK(odd["ticket"].error() == simdjson::NO_SUCH_FIELD);
}

TEST_CASE("Every event kind has its own name", "[gateway][audit]") {
  std::vector<std::string> names;
  for (size_t k = 0; k < kAuditEventKindCount; ++k) {
    names.emplace_back(AuditEventName(static_cast<AuditEventKind>(k)));
  }
  CHECK(names == std::vector<std::string>{"sent", "duplicate", "conflict", "risk_refused", "filled",
                                          "rejected", "unknown", "resolved"});
}

TEST_CASE(
    "The log rotates before a line would pass max_bytes, keeps `keep` files, and never "
    "splits a line across files",
    "[gateway][audit]") {
  Dir dir;
  const std::string path = dir.path + "/audit.jsonl";
  constexpr int kEvents = 400;
  constexpr int64_t kMaxBytes = 2000;
  {
    auto log = AuditLog::Open({.path = path, .max_bytes = kMaxBytes, .keep = 3});
    REQUIRE(log.ok());
    for (int i = 0; i < kEvents; ++i) {
      const std::string uuid = "order-" + std::to_string(i);
      // Lines of different lengths, so that the edge falls anywhere.
      const std::string message(static_cast<size_t>(i % 37), 'x');
      REQUIRE((*log)->Record(AuditEvent{.kind = AuditEventKind::kRejected,
                                        .unix_us = kUnixUs,
                                        .uuid = uuid,
                                        .error_code = "NO_MONEY",
                                        .message = message}));
      if (i % 50 == 0) (*log)->Flush();  // batches of every size, rotations inside them too
    }
    (*log)->Flush();
    CHECK((*log)->lines_written() == kEvents);
    CHECK((*log)->write_errors() == 0);
  }
  // Oldest to newest: .3, .2, .1, then the live file; .4 never exists.
  CHECK_FALSE(std::filesystem::exists(path + ".4"));
  std::vector<int> seen;
  simdjson::dom::parser parser;
  for (const std::string& file : {path + ".3", path + ".2", path + ".1", path}) {
    REQUIRE(std::filesystem::exists(file));
    const std::string bytes = Slurp(file);
    CHECK(static_cast<int64_t>(bytes.size()) <= kMaxBytes);
    REQUIRE(!bytes.empty());
    CHECK(bytes.back() == '\n');
    for (const std::string& line : Lines(file)) {
      simdjson::dom::element e;
      REQUIRE(parser.parse(line).get(e) == simdjson::SUCCESS);
      const std::string uuid(e["uuid"].get_string().value());
      seen.push_back(std::stoi(uuid.substr(6)));
    }
  }
  // The kept files hold the newest lines, consecutive and in order, ending with the last one.
  REQUIRE(!seen.empty());
  CHECK(seen.back() == kEvents - 1);
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] == seen[i - 1] + 1);
  // Four files of at most 2000 bytes each hold fewer than all 400 lines: older files were dropped.
  CHECK(seen.size() < static_cast<size_t>(kEvents));
}

TEST_CASE("A line longer than max_bytes goes alone into a file of its own", "[gateway][audit]") {
  Dir dir;
  const std::string path = dir.path + "/audit.jsonl";
  {
    auto log = AuditLog::Open({.path = path, .max_bytes = 100, .keep = 5});
    REQUIRE(log.ok());
    const std::string long_message(300, 'm');
    (*log)->Record(AuditEvent{.uuid = "a"});
    (*log)->Record(AuditEvent{.uuid = "b", .message = long_message});
    (*log)->Record(AuditEvent{.uuid = "c"});
    (*log)->Flush();
  }
  CHECK(Lines(path + ".2").size() == 1);
  CHECK(Lines(path + ".1").size() == 1);
  CHECK(Slurp(path + ".1").size() > 300);
  CHECK(Lines(path).size() == 1);
}

TEST_CASE("Reopening appends to the live file and counts its size toward rotation",
          "[gateway][audit]") {
  Dir dir;
  const std::string path = dir.path + "/audit.jsonl";
  for (int round = 0; round < 2; ++round) {
    auto log = AuditLog::Open({.path = path, .max_bytes = 1'000'000, .keep = 2});
    REQUIRE(log.ok());
    (*log)->Record(AuditEvent{.uuid = "round-" + std::to_string(round)});
    (*log)->Flush();
  }
  CHECK(Lines(path).size() == 2);
}

TEST_CASE("When the writer cannot write, a full queue drops events and Record never blocks",
          "[gateway][audit]") {
  Dir dir;
  // The log's "file" is a FIFO nobody reads yet: the writer blocks in write(2) once the pipe's
  // buffer is full, as it would on a stalled disk.
  const std::string path = dir.path + "/audit.fifo";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  const int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  std::atomic<bool> done{false};
  {
    auto log = AuditLog::Open({.path = path, .queue_capacity = 16});
    REQUIRE(log.ok());
    const std::string big(4096, 'z');
    constexpr int kEvents = 2000;
    int refused = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kEvents; ++i) {
      if (!(*log)->Record(AuditEvent{.uuid = "u", .message = big})) ++refused;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    // The pipe holds at most 64 KiB (16 lines of 4 KiB): nearly every event was refused, at once.
    CHECK(refused >= kEvents - 100);
    CHECK((*log)->lines_dropped() == static_cast<uint64_t>(refused));
    CHECK(elapsed < std::chrono::seconds(2));
    // Unblock the writer so that the log can close: read until it is gone.
    std::thread drain([&] {
      char buf[65536];
      while (!done.load()) {
        if (::read(reader, buf, sizeof buf) <= 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    (*log)->Flush();
    CHECK((*log)->lines_written() + (*log)->lines_dropped() == static_cast<uint64_t>(kEvents));
    log->reset();
    done = true;
    drain.join();
  }
  ::close(reader);
}

TEST_CASE(
    "An audit_log setting names a file under the data directory unless absolute, and \"\" "
    "is off",
    "[gateway][audit]") {
  CHECK(AuditLogPath("", "/var/lib/og") == "");
  CHECK(AuditLogPath("audit.jsonl", "/var/lib/og") == "/var/lib/og/audit.jsonl");
  CHECK(AuditLogPath("/var/log/og/audit.jsonl", "/var/lib/og") == "/var/log/og/audit.jsonl");
  auto bad = AuditLog::Open({.path = "/nonexistent-dir/audit.jsonl"});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("/nonexistent-dir/audit.jsonl"));
}

}  // namespace
}  // namespace ordergate::gateway
