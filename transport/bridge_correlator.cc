#include "transport/bridge_correlator.h"

#include <simdjson.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ordergate::transport {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// Requests sent and not yet removed, threaded onto a per-key list in send order so that "the oldest
// entry with this uuid" is the head of its list.
struct KeyList {
  uint32_t head = kNone;
  uint32_t tail = kNone;
};

enum class Phase : uint8_t { kFree, kOutstanding, kLingering };

struct Entry {
  uint64_t token = 0;
  std::string uuid;  // empty: sent without a uuid; capacity survives slot reuse
  uint64_t epoch = 0;
  int64_t deadline_ns = 0;
  int64_t sent_ns = 0;
  uint32_t gen =
      0;  // bumped on release, so heap and linger references go stale instead of dangling
  Phase phase = Phase::kFree;
  uint32_t prev = kNone;
  uint32_t next = kNone;
};

struct TimerRef {
  int64_t at_ns;
  uint32_t slot;
  uint32_t gen;
};
struct LaterFirst {
  bool operator()(const TimerRef& a, const TimerRef& b) const { return a.at_ns > b.at_ns; }
};

enum class UuidParse : uint8_t { kAbsent, kPresent, kInvalid };

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  return a + b;
}

}  // namespace

struct BridgeCorrelator::Table {
  explicit Table(int64_t late_ns) : late_window_ns(late_ns) {}

  KeyList* ListFor(const std::string& uuid, bool create) {
    if (uuid.empty()) return &no_uuid;
    if (create) return &by_uuid[uuid];
    auto it = by_uuid.find(uuid);
    return it == by_uuid.end() ? nullptr : &it->second;
  }

  void Add(uint64_t token, absl::string_view uuid, int64_t deadline_ns, int64_t sent_ns) {
    uint32_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    Entry& e = slots[slot];
    e.token = token;
    e.uuid.assign(uuid.data(), uuid.size());
    e.epoch = epoch;
    e.deadline_ns = deadline_ns;
    e.sent_ns = sent_ns;
    e.phase = Phase::kOutstanding;
    KeyList* list = ListFor(e.uuid, /*create=*/true);
    e.prev = list->tail;
    e.next = kNone;
    if (list->tail != kNone) {
      slots[list->tail].next = slot;
    } else {
      list->head = slot;
    }
    list->tail = slot;
    tokens.emplace(token, slot);
    deadlines.push_back(TimerRef{deadline_ns, slot, e.gen});
    std::push_heap(deadlines.begin(), deadlines.end(), LaterFirst());
    ++outstanding;
    ++unanswered;
  }

  void Release(uint32_t slot) {
    Entry& e = slots[slot];
    if (e.phase == Phase::kOutstanding) --outstanding;
    if (e.epoch == epoch) --unanswered;
    KeyList* list = ListFor(e.uuid, /*create=*/false);
    if (e.prev != kNone) {
      slots[e.prev].next = e.next;
    } else {
      list->head = e.next;
    }
    if (e.next != kNone) {
      slots[e.next].prev = e.prev;
    } else {
      list->tail = e.prev;
    }
    if (list->head == kNone && !e.uuid.empty()) by_uuid.erase(e.uuid);
    auto [first, last] = tokens.equal_range(e.token);
    for (auto it = first; it != last; ++it) {
      if (it->second == slot) {
        tokens.erase(it);
        break;
      }
    }
    e.phase = Phase::kFree;
    e.prev = e.next = kNone;
    ++e.gen;
    free_slots.push_back(slot);
  }

  // Drops heap items whose entry has been replied to, forgotten or reused, so that the heap's top
  // is a deadline still owed.
  void PruneDeadlines() {
    while (!deadlines.empty()) {
      const TimerRef& top = deadlines.front();
      const Entry& e = slots[top.slot];
      if (e.gen == top.gen && e.phase == Phase::kOutstanding) return;
      std::pop_heap(deadlines.begin(), deadlines.end(), LaterFirst());
      deadlines.pop_back();
    }
  }

  // Looks at the top-level "uuid" member of the reply in `scratch` only (simdjson reads up to
  // SIMDJSON_PADDING past the end, hence the padded copy).
  UuidParse ParseUuid(std::string_view* uuid) {
    simdjson::ondemand::document doc;
    if (parser.iterate(scratch.data(), scratch.size(), scratch.capacity()).get(doc)) {
      return UuidParse::kInvalid;
    }
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj)) return UuidParse::kInvalid;
    simdjson::ondemand::value v;
    const auto err = obj.find_field_unordered("uuid").get(v);
    if (err == simdjson::NO_SUCH_FIELD) return UuidParse::kAbsent;
    if (err) return UuidParse::kInvalid;
    simdjson::ondemand::json_type type;
    if (v.type().get(type)) return UuidParse::kInvalid;
    if (type == simdjson::ondemand::json_type::null) return UuidParse::kAbsent;
    if (type != simdjson::ondemand::json_type::string) return UuidParse::kInvalid;
    if (v.get_string().get(*uuid)) return UuidParse::kInvalid;
    return uuid->empty() ? UuidParse::kAbsent : UuidParse::kPresent;
  }

  const int64_t late_window_ns;
  uint64_t epoch = 0;  // bumped on every disconnect: entries from older epochs are orphaned
  size_t outstanding = 0;
  size_t unanswered = 0;  // entries of the current epoch, outstanding or lingering

  std::vector<Entry> slots;
  std::vector<uint32_t> free_slots;
  std::unordered_map<std::string, KeyList> by_uuid;
  KeyList no_uuid;
  std::unordered_multimap<uint64_t, uint32_t> tokens;
  std::vector<TimerRef> deadlines;  // min-heap on at_ns
  std::deque<TimerRef> lingering;   // FIFO, ascending at_ns

  simdjson::ondemand::parser parser;
  std::string scratch;  // the reply being parsed, with SIMDJSON_PADDING spare capacity
  std::string key;      // reused lookup key
};

BridgeCorrelator::BridgeCorrelator(int64_t late_reply_window_ns)
    : t_(std::make_unique<Table>(late_reply_window_ns)) {}

BridgeCorrelator::~BridgeCorrelator() = default;

void BridgeCorrelator::OnSent(uint64_t token, absl::string_view uuid, int64_t deadline_ns,
                              int64_t sent_ns) {
  t_->Add(token, uuid, deadline_ns, sent_ns);
  ++stats_.sent;
}

void BridgeCorrelator::OnReply(absl::string_view body, std::vector<BridgeEvent>* out) {
  Table& t = *t_;
  if (t.scratch.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    t.scratch.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  }
  t.scratch.assign(body.data(), body.size());
  std::string_view uuid;
  const UuidParse parsed = t.ParseUuid(&uuid);
  if (parsed == UuidParse::kInvalid) {
    ++stats_.unmatched_replies;
    return;
  }
  KeyList* list = nullptr;
  if (parsed == UuidParse::kAbsent) {
    list = &t.no_uuid;
  } else {
    t.key.assign(uuid.data(), uuid.size());
    list = t.ListFor(t.key, /*create=*/false);
  }
  // Orphaned entries (older connections) sit at the head of the list: sent earlier.
  uint32_t slot = list ? list->head : kNone;
  while (slot != kNone && t.slots[slot].epoch != t.epoch) slot = t.slots[slot].next;
  if (slot == kNone) {
    ++stats_.unmatched_replies;
    return;
  }
  Entry& e = t.slots[slot];
  BridgeEvent ev;
  ev.token = e.token;
  ev.sent_ns = e.sent_ns;
  if (e.phase == Phase::kOutstanding) {
    ev.kind = BridgeEventKind::kReply;
    ++stats_.replies;
  } else {
    ev.kind = BridgeEventKind::kLateReply;
    ++stats_.late_replies;
  }
  ev.body = t.scratch;
  out->push_back(std::move(ev));
  t.Release(slot);
  t.PruneDeadlines();  // NextDeadlineNs() stays exact: never the deadline of an answered request
}

void BridgeCorrelator::OnDisconnected() {
  Table& t = *t_;
  ++stats_.disconnects;
  // Everything sent so far was sent on the connection that dropped: its REP can never answer on a
  // new one. Outstanding entries still owe a kTimedOut; lingering ones have nothing left to say.
  ++t.epoch;
  t.unanswered = 0;
  for (uint32_t i = 0; i < t.slots.size(); ++i) {
    if (t.slots[i].phase == Phase::kLingering) t.Release(i);
  }
}

void BridgeCorrelator::Forget(uint64_t token) {
  Table& t = *t_;
  for (auto it = t.tokens.find(token); it != t.tokens.end(); it = t.tokens.find(token)) {
    t.Release(it->second);
  }
  t.PruneDeadlines();
}

void BridgeCorrelator::FireDeadlines(int64_t now_ns, std::vector<BridgeEvent>* out) {
  Table& t = *t_;
  while (!t.deadlines.empty() && t.deadlines.front().at_ns <= now_ns) {
    const TimerRef top = t.deadlines.front();
    std::pop_heap(t.deadlines.begin(), t.deadlines.end(), LaterFirst());
    t.deadlines.pop_back();
    Entry& e = t.slots[top.slot];
    if (e.gen != top.gen || e.phase != Phase::kOutstanding) continue;
    BridgeEvent ev;
    ev.kind = BridgeEventKind::kTimedOut;
    ev.token = e.token;
    ev.sent_ns = e.sent_ns;
    out->push_back(std::move(ev));
    ++stats_.timeouts;
    if (e.epoch != t.epoch || t.late_window_ns <= 0) {
      t.Release(top.slot);
      continue;
    }
    e.phase = Phase::kLingering;
    --t.outstanding;
    // Deadlines fire in order, so linger ends (deadline + a constant) are appended in order too.
    t.lingering.push_back(
        TimerRef{SaturatingAdd(e.deadline_ns, t.late_window_ns), top.slot, e.gen});
  }
  while (!t.lingering.empty() && t.lingering.front().at_ns <= now_ns) {
    const TimerRef item = t.lingering.front();
    t.lingering.pop_front();
    const Entry& e = t.slots[item.slot];
    if (e.gen == item.gen && e.phase == Phase::kLingering) t.Release(item.slot);
  }
  t.PruneDeadlines();
}

int64_t BridgeCorrelator::NextDeadlineNs() const {
  return t_->deadlines.empty() ? std::numeric_limits<int64_t>::max() : t_->deadlines.front().at_ns;
}

bool BridgeCorrelator::IsCorrelated(uint64_t token) const {
  const Table& t = *t_;
  auto [begin, end] = t.tokens.equal_range(token);
  for (auto it = begin; it != end; ++it) {
    const Entry& e = t.slots[it->second];
    if (e.phase != Phase::kFree && e.epoch == t.epoch) return true;
  }
  return false;
}

size_t BridgeCorrelator::outstanding() const { return t_->outstanding; }

size_t BridgeCorrelator::unanswered() const { return t_->unanswered; }

}  // namespace ordergate::transport
