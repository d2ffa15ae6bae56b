// The execution journal (one JSON line per executed order, appended with one write(2), reloaded
// at start, searched for uuids ORDER_STATUS forgot) and the ORDER_STATUS records with their
// eviction. See sim_impl.h for how the files divide.
#include <fcntl.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "transport/sim/bridge_sim.h"
#include "transport/sim/sim_impl.h"
#include "transport/sim/sim_json.h"

namespace ordergate::transport::sim {
namespace internal {

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string JournalReplyText(const std::string& line, simdjson::dom::object obj, int64_t ticket) {
  simdjson::dom::object reply;
  const bool has_reply = obj["reply"].get_object().get(reply) == simdjson::SUCCESS;
  const size_t pos = line.find(",\"reply\":");
  if (has_reply && pos != std::string::npos && !line.empty() && line.back() == '}') {
    return line.substr(pos + 9, line.size() - 1 - (pos + 9));
  }
  std::string text;
  ObjectWriter w(text);
  w.Raw("uuid", simdjson::minify(obj["uuid"])).Str("status", "FILLED").Int("ticket", ticket);
  w.Close();
  return text;
}

}  // namespace internal

namespace {

using internal::GetNumber;
using internal::GetString;
using internal::JournalReplyText;
using internal::NowUnixUs;
using internal::ObjectWriter;
using internal::WriteAll;

}  // namespace

absl::Status BridgeSim::Impl::LoadJournal() {
  std::ifstream in(opt_.journal_path);
  if (!in) return absl::OkStatus();  // first run
  simdjson::dom::parser parser;
  std::string line;
  size_t lineno = 0, loaded = 0, skipped = 0;
  int64_t max_ticket = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    simdjson::dom::element root;
    simdjson::dom::object obj;
    if (parser.parse(line).get(root) != simdjson::SUCCESS || root.get_object().get(obj)) {
      // A crash mid-write can leave a torn last line; everything before it still counts.
      ++skipped;
      spdlog::warn("bridge-sim: journal {} line {} unreadable, skipped", opt_.journal_path, lineno);
      continue;
    }
    std::string_view action;
    int64_t ticket = 0;
    if (!GetString(obj, "action", &action) || obj["ticket"].get_int64().get(ticket)) {
      ++skipped;
      spdlog::warn("bridge-sim: journal {} line {} lacks action/ticket, skipped", opt_.journal_path,
                   lineno);
      continue;
    }
    ++loaded;
    max_ticket = std::max(max_ticket, ticket);
    std::string_view uuid;
    const bool has_uuid = GetString(obj, "uuid", &uuid);
    simdjson::dom::object reply;
    const bool has_reply = obj["reply"].get_object().get(reply) == simdjson::SUCCESS;
    if (action == "OPEN") {
      Position p;
      p.ticket = ticket;
      std::string_view sv;
      if (GetString(obj, "type", &sv)) p.type = std::string(sv);
      if (has_reply) {
        if (GetString(reply, "symbol", &sv)) p.symbol = std::string(sv);
        simdjson::dom::element el;
        if (reply["volume"].get(el) == simdjson::SUCCESS) GetNumber(el, &p.volume);
        if (reply["price"].get(el) == simdjson::SUCCESS) GetNumber(el, &p.open_price);
      }
      positions_[ticket] = std::move(p);
    } else if (action == "CLOSE") {
      positions_.erase(ticket);
    }
    if (has_uuid) RecordLocked(std::string(uuid), JournalReplyText(line, obj, ticket));
  }
  if (max_ticket >= next_ticket_) next_ticket_ = max_ticket + 1;
  spdlog::info(
      "bridge-sim: journal {}: {} executed orders loaded, {} lines skipped, next ticket {}",
      opt_.journal_path, loaded, skipped, next_ticket_);
  return absl::OkStatus();
}

BridgeSim::Impl::Record& BridgeSim::Impl::RecordSlotLocked(const std::string& key) {
  auto [it, inserted] = records_.try_emplace(key);
  if (inserted) {
    record_order_.push_back(key);
    // Bounded so a long benchmark cannot grow the simulator without limit.
    size_t guard = record_order_.size();
    while (records_.size() > opt_.order_status_capacity && guard-- > 0) {
      std::string oldest = std::move(record_order_.front());
      record_order_.pop_front();
      auto old = records_.find(oldest);
      if (old == records_.end()) continue;
      if (old->second.pending > 0 || oldest == key) {
        record_order_.push_back(std::move(oldest));  // still in use: keep it
        continue;
      }
      records_.erase(old);
      evicted_.store(true, std::memory_order_relaxed);
    }
    it = records_.find(key);
  }
  return it->second;
}

void BridgeSim::Impl::RecordLocked(const std::string& key, const std::string& reply) {
  RecordSlotLocked(key).reply = reply;
}

void BridgeSim::Impl::EndPendingLocked(const std::string* uuid_key) {
  if (uuid_key == nullptr || !opt_.order_status) return;
  auto it = records_.find(*uuid_key);
  if (it != records_.end() && it->second.pending > 0) --it->second.pending;
}

void BridgeSim::Impl::JournalLocked(const std::string& uuid_json, std::string_view action,
                                    int64_t ticket, std::string_view type,
                                    const std::string& reply) {
  if (journal_fd_ < 0) return;
  std::string line;
  line.reserve(reply.size() + uuid_json.size() + 96);
  ObjectWriter w(line);
  w.Raw("uuid", uuid_json).Str("action", action).Int("ticket", ticket).Int("time_us", NowUnixUs());
  if (!type.empty()) w.Str("type", type);
  w.Raw("reply", reply);  // last, so a reload can take its raw bytes
  w.Close();
  line += '\n';
  // One write(2) of the whole line with O_APPEND: a crash after it leaves a complete line.
  if (!WriteAll(journal_fd_, line)) {
    spdlog::error("bridge-sim: journal write failed: {}", std::strerror(errno));
  }
}

std::optional<std::string> BridgeSim::Impl::FindInJournal(const std::string& uuid_json) {
  std::ifstream in(opt_.journal_path);
  if (!in) return std::nullopt;
  // JournalLocked writes the uuid first, escaped as uuid_json is.
  const std::string prefix = absl::StrCat("{\"uuid\":", uuid_json, ",");
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: a line still being written
    if (line.compare(0, prefix.size(), prefix) == 0) found = line;
  }
  if (found.empty()) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  int64_t ticket = 0;
  if (parser.parse(found).get(root) != simdjson::SUCCESS ||
      root.get_object().get(obj) != simdjson::SUCCESS ||
      obj["ticket"].get_int64().get(ticket) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return JournalReplyText(found, obj, ticket);
}

}  // namespace ordergate::transport::sim
