#include "sim_store.h"

#include <utility>

namespace ordergate::sim {

using idempotency::ChangeOutcome;
using idempotency::ChangeResult;
using idempotency::Record;
using idempotency::RecordEvent;
using idempotency::RecordState;

ChangeResult ApplyOne(SimDisk* disk, RecordEvent event, absl::string_view key,
                      absl::string_view fingerprint, absl::string_view reply, int64_t now_unix_ms) {
  std::map<std::string, Record>* records = &disk->records;
  ChangeResult res;
  auto it = records->find(std::string(key));
  Record cur;
  if (it != records->end()) cur = it->second;
  if (event == RecordEvent::kReserve && cur.state != RecordState::kAbsent) {
    res.outcome = ChangeOutcome::kExists;
    res.state_after = cur.state;
    res.existing = cur;
    return res;
  }
  const std::optional<RecordState> next = idempotency::NextState(cur.state, event);
  if (!next) {
    res.outcome = ChangeOutcome::kIllegal;
    res.state_after = cur.state;
    if (cur.state != RecordState::kAbsent) res.existing = cur;
    return res;
  }
  res.outcome = ChangeOutcome::kApplied;
  res.state_after = *next;
  if (*next == RecordState::kAbsent) {
    if (it != records->end()) records->erase(it);
    disk->in_flight.erase(std::string(key));
    return res;
  }
  cur.key = std::string(key);
  switch (event) {
    case RecordEvent::kReserve:
      cur.fingerprint = std::string(fingerprint);
      cur.reply.clear();
      cur.created_unix_ms = now_unix_ms;
      break;
    case RecordEvent::kOutcomeFilled:
    case RecordEvent::kOutcomeRejected:
    case RecordEvent::kBridgeTimedOut:
      cur.reply = std::string(reply);
      break;
    case RecordEvent::kRecovered:
    case RecordEvent::kReleased:
      break;
  }
  cur.state = *next;
  cur.updated_unix_ms = now_unix_ms;
  if (cur.state == RecordState::kReserved || cur.state == RecordState::kUnknown) {
    disk->in_flight.insert(cur.key);
  } else {
    disk->in_flight.erase(cur.key);
  }
  (*records)[cur.key] = std::move(cur);
  return res;
}

SimStore::SimStore(SimDisk* disk) : disk_(disk) {
  for (const auto& batch : disk_->torn) {
    if (disk_->rng == nullptr ||
        std::uniform_real_distribution<double>(0, 1)(*disk_->rng) >= disk_->torn_share) {
      continue;
    }
    ++disk_->torn_applied;
    for (const auto& c : batch) {
      ApplyOne(disk_, c.event, c.key, c.fingerprint, c.reply, 0);
    }
  }
  disk_->torn.clear();
  for (const std::string& key : disk_->in_flight) {
    Record& rec = disk_->records[key];
    if (rec.state == RecordState::kReserved) {
      rec.state = RecordState::kUnknown;
      ++disk_->recovered;
    }
  }
}

absl::Status SimStore::Apply(absl::Span<const idempotency::Change> changes, int64_t now_unix_ms,
                             absl::Span<ChangeResult> results) {
  if (results.size() != changes.size()) return absl::Status(absl::StatusCode::kInvalidArgument, "");
  for (const auto& c : changes) {
    if (c.key.empty()) return absl::Status(absl::StatusCode::kInvalidArgument, "");
  }
  ++disk_->applies;
  if (disk_->failing) {
    ++disk_->failed_applies;
    std::vector<SimDisk::TornChange> torn;
    torn.reserve(changes.size());
    for (const auto& c : changes) {
      torn.push_back(
          {c.event, std::string(c.key), std::string(c.fingerprint), std::string(c.reply)});
    }
    disk_->torn.push_back(std::move(torn));
    for (auto& r : results) r = ChangeResult{};
    return absl::Status(absl::StatusCode::kUnavailable, "");
  }
  for (size_t i = 0; i < changes.size(); ++i) {
    const auto& c = changes[i];
    results[i] = ApplyOne(disk_, c.event, c.key, c.fingerprint, c.reply, now_unix_ms);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Record>> SimStore::Lookup(absl::string_view key) {
  if (key.empty()) return absl::Status(absl::StatusCode::kInvalidArgument, "");
  auto it = disk_->records.find(std::string(key));
  if (it == disk_->records.end()) return std::optional<Record>();
  return std::optional<Record>(it->second);
}

absl::StatusOr<std::vector<Record>> SimStore::ListInFlight() {
  std::vector<Record> out;
  out.reserve(disk_->in_flight.size());
  for (const std::string& key : disk_->in_flight) out.push_back(disk_->records[key]);
  return out;
}

idempotency::StoreStats SimStore::Stats() {
  idempotency::StoreStats s;
  s.records = disk_->records.size();
  s.in_flight = disk_->in_flight.size();
  return s;
}

}  // namespace ordergate::sim
