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
  const std::string k(key);
  auto it = disk->records.find(k);
  Record cur;
  if (it != disk->records.end()) cur = it->second;
  // The RocksDB store's own rules (idempotency/store.h), so the simulated disk cannot differ.
  const ChangeResult res = idempotency::ApplyChangeTo(
      idempotency::Change{event, key, fingerprint, reply}, now_unix_ms, &cur);
  if (res.outcome != idempotency::ChangeOutcome::kApplied) return res;
  if (cur.state == RecordState::kAbsent) {
    if (it != disk->records.end()) disk->records.erase(it);
    disk->in_flight.erase(k);
    return res;
  }
  cur.key = k;
  if (cur.state == RecordState::kReserved || cur.state == RecordState::kUnknown) {
    disk->in_flight.insert(k);
  } else {
    disk->in_flight.erase(k);
  }
  disk->records[k] = std::move(cur);
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
