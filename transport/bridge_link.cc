#include "transport/bridge_link.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <zmq.hpp>

#include "absl/strings/str_cat.h"

namespace ordergate::transport {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

absl::Status Unavailable() { return absl::Status(absl::StatusCode::kUnavailable, ""); }

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

std::atomic<uint64_t> g_monitor_seq{0};

}  // namespace

struct BridgeLink::Impl {
  Impl(zmq::context_t& ctx, const BridgeLinkOptions& o)
      : opts(o),
        late_window_ns(o.late_reply_window_ms * 1'000'000),
        dealer(ctx, zmq::socket_type::dealer),
        monitor(ctx, zmq::socket_type::pair) {}

  ~Impl() {
    // Stop the monitor before closing the sockets it reports on; errors here have no one to go to.
    zmq_socket_monitor(dealer.handle(), nullptr, 0);
    monitor.close();
    dealer.close();
  }

  // ---- connection state -------------------------------------------------------------------------

  void DrainMonitor() {
    try {
      while (monitor.recv(frame, zmq::recv_flags::dontwait)) {
        uint16_t event = 0;
        if (frame.size() >= sizeof(uint16_t) + sizeof(uint32_t)) {
          std::memcpy(&event, frame.data(), sizeof(event));
        }
        while (frame.more() && monitor.recv(frame, zmq::recv_flags::dontwait)) {
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
          up = true;
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
          OnDisconnected();
        }
      }
    } catch (const zmq::error_t&) {
      // EINTR: the rest is read on the next call.
    }
  }

  void OnDisconnected() {
    up = false;
    ++stats.disconnects;
    // Everything sent so far was sent on the connection that dropped: its REP can never answer on a
    // new one. Outstanding entries still owe a kTimedOut; lingering ones have nothing left to say.
    ++epoch;
    unanswered = 0;
    for (uint32_t i = 0; i < slots.size(); ++i) {
      if (slots[i].phase == Phase::kLingering) Release(i);
    }
  }

  // ---- entries ----------------------------------------------------------------------------------

  KeyList* ListFor(const std::string& uuid, bool create) {
    if (uuid.empty()) return &no_uuid;
    if (create) return &by_uuid[uuid];
    auto it = by_uuid.find(uuid);
    return it == by_uuid.end() ? nullptr : &it->second;
  }

  uint32_t Add(uint64_t token, absl::string_view uuid, int64_t deadline_ns) {
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
    e.sent_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
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
    return slot;
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

  // ---- replies ----------------------------------------------------------------------------------

  // Copies the body into a padded scratch buffer (simdjson reads up to SIMDJSON_PADDING past the
  // end) and looks at the top-level "uuid" member only.
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

  // Reads one [empty][body] message into scratch. False when nothing is queued; *valid is false for
  // a frame sequence that is not [empty][body] (it is consumed).
  bool ReadReply(bool* valid) {
    if (!dealer.recv(frame, zmq::recv_flags::dontwait)) return false;
    *valid = true;
    if (frame.empty() && frame.more()) {
      if (!dealer.recv(frame, zmq::recv_flags::dontwait)) {
        *valid = false;
        return true;
      }
    }
    if (frame.more()) {
      *valid = false;
      while (frame.more() && dealer.recv(frame, zmq::recv_flags::dontwait)) {
      }
      return true;
    }
    const size_t n = frame.size();
    if (scratch.capacity() < n + simdjson::SIMDJSON_PADDING)
      scratch.reserve(n + simdjson::SIMDJSON_PADDING);
    scratch.assign(static_cast<const char*>(frame.data()), n);
    return true;
  }

  void DrainReplies(std::vector<BridgeEvent>* out) {
    try {
      bool valid = false;
      while (ReadReply(&valid)) {
        if (!valid) {
          ++stats.unmatched_replies;
          continue;
        }
        std::string_view uuid;
        const UuidParse parsed = ParseUuid(&uuid);
        if (parsed == UuidParse::kInvalid) {
          ++stats.unmatched_replies;
          continue;
        }
        KeyList* list = nullptr;
        if (parsed == UuidParse::kAbsent) {
          list = &no_uuid;
        } else {
          key.assign(uuid.data(), uuid.size());
          list = ListFor(key, /*create=*/false);
        }
        // Orphaned entries (older connections) sit at the head of the list: sent earlier.
        uint32_t slot = list ? list->head : kNone;
        while (slot != kNone && slots[slot].epoch != epoch) slot = slots[slot].next;
        if (slot == kNone) {
          ++stats.unmatched_replies;
          continue;
        }
        Entry& e = slots[slot];
        BridgeEvent ev;
        ev.token = e.token;
        ev.sent_ns = e.sent_ns;
        if (e.phase == Phase::kOutstanding) {
          ev.kind = BridgeEventKind::kReply;
          ++stats.replies;
        } else {
          ev.kind = BridgeEventKind::kLateReply;
          ++stats.late_replies;
        }
        ev.body = scratch;
        out->push_back(std::move(ev));
        Release(slot);
      }
    } catch (const zmq::error_t&) {
      // EINTR: the rest is read on the next Poll.
    }
  }

  // ---- deadlines --------------------------------------------------------------------------------

  void FireDeadlines(int64_t now_ns, std::vector<BridgeEvent>* out) {
    while (!deadlines.empty() && deadlines.front().at_ns <= now_ns) {
      const TimerRef top = deadlines.front();
      std::pop_heap(deadlines.begin(), deadlines.end(), LaterFirst());
      deadlines.pop_back();
      Entry& e = slots[top.slot];
      if (e.gen != top.gen || e.phase != Phase::kOutstanding) continue;
      BridgeEvent ev;
      ev.kind = BridgeEventKind::kTimedOut;
      ev.token = e.token;
      ev.sent_ns = e.sent_ns;
      out->push_back(std::move(ev));
      ++stats.timeouts;
      if (e.epoch != epoch || late_window_ns <= 0) {
        Release(top.slot);
        continue;
      }
      e.phase = Phase::kLingering;
      --outstanding;
      // Deadlines fire in order, so linger ends (deadline + a constant) are appended in order too.
      lingering.push_back(TimerRef{SaturatingAdd(e.deadline_ns, late_window_ns), top.slot, e.gen});
    }
    while (!lingering.empty() && lingering.front().at_ns <= now_ns) {
      const TimerRef item = lingering.front();
      lingering.pop_front();
      const Entry& e = slots[item.slot];
      if (e.gen == item.gen && e.phase == Phase::kLingering) Release(item.slot);
    }
  }

  static int64_t SaturatingAdd(int64_t a, int64_t b) {
    if (b > 0 && a > std::numeric_limits<int64_t>::max() - b)
      return std::numeric_limits<int64_t>::max();
    return a + b;
  }

  BridgeLinkOptions opts;
  int64_t late_window_ns;
  zmq::socket_t dealer;
  zmq::socket_t monitor;
  zmq::message_t frame;  // reused for every receive

  bool up = false;
  uint64_t epoch = 0;  // bumped on every DISCONNECTED: entries from older epochs are orphaned
  size_t outstanding = 0;
  size_t unanswered = 0;  // entries of the current epoch, outstanding or lingering
  BridgeLinkStats stats;

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

BridgeLink::BridgeLink() = default;
BridgeLink::~BridgeLink() = default;

absl::StatusOr<std::unique_ptr<BridgeLink>> BridgeLink::Connect(IoContext& io,
                                                                const BridgeLinkOptions& opts) {
  if (opts.late_reply_window_ms < 0 || opts.late_reply_window_ms > INT64_MAX / 1'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("late_reply_window_ms out of range: ", opts.late_reply_window_ms));
  }
  std::unique_ptr<BridgeLink> link(new BridgeLink());
  const std::string monitor_endpoint =
      absl::StrCat("inproc://ordergate-bridge-monitor-", g_monitor_seq.fetch_add(1));
  try {
    link->impl_ = std::make_unique<Impl>(*static_cast<zmq::context_t*>(io.native()), opts);
    zmq::socket_t& d = link->impl_->dealer;
    d.set(zmq::sockopt::linger, 0);
    d.set(zmq::sockopt::immediate, true);
    d.set(zmq::sockopt::sndhwm, opts.send_hwm);
    d.set(zmq::sockopt::heartbeat_ivl, opts.heartbeat_ivl_ms);
    d.set(zmq::sockopt::heartbeat_timeout, opts.heartbeat_timeout_ms);
    d.set(zmq::sockopt::heartbeat_ttl, opts.heartbeat_timeout_ms);
    d.set(zmq::sockopt::reconnect_ivl, opts.reconnect_ivl_ms);
    d.set(zmq::sockopt::reconnect_ivl_max, opts.reconnect_ivl_max_ms);
    link->impl_->monitor.set(zmq::sockopt::linger, 0);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(absl::StrCat("bridge link socket options: ", e.what()));
  }
  // The monitor's PAIR must be connected before the DEALER connects: libzmq drops events that find
  // no peer, and a lost HANDSHAKE_SUCCEEDED would leave the link down forever.
  if (zmq_socket_monitor(link->impl_->dealer.handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0) {
    return absl::InternalError(absl::StrCat("zmq_socket_monitor: ", zmq_strerror(zmq_errno())));
  }
  try {
    link->impl_->monitor.connect(monitor_endpoint);
  } catch (const zmq::error_t& e) {
    return absl::InternalError(absl::StrCat("bridge link monitor: ", e.what()));
  }
  try {
    link->impl_->dealer.connect(opts.endpoint);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot connect bridge link to '", opts.endpoint, "': ", e.what()));
  }
  return link;
}

bool BridgeLink::IsUp() const { return impl_->up; }

absl::Status BridgeLink::Send(uint64_t token, absl::string_view uuid, absl::string_view body,
                              int64_t deadline_ns) {
  Impl& im = *impl_;
  // A DISCONNECTED still queued would otherwise mark this request, sent on the new connection, as
  // orphaned when Poll() reads it.
  im.DrainMonitor();
  // After DISCONNECTED the socket may still hold the dying pipe for a moment (libzmq tears it down
  // asynchronously) and would accept a message that can only be lost: the monitor is the authority.
  if (!im.up) return Unavailable();
  constexpr auto kMore = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  try {
    if (!im.dealer.send(zmq::const_buffer(nullptr, 0), kMore)) return Unavailable();
    // Once the first part is queued, libzmq accepts the rest of the message on the same pipe.
    if (!im.dealer.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::dontwait)) {
      return Unavailable();
    }
  } catch (const zmq::error_t&) {
    return Unavailable();
  }
  im.Add(token, uuid, deadline_ns);
  ++im.stats.sent;
  return absl::OkStatus();
}

void BridgeLink::Forget(uint64_t token) {
  Impl& im = *impl_;
  for (auto it = im.tokens.find(token); it != im.tokens.end(); it = im.tokens.find(token)) {
    im.Release(it->second);
  }
  im.PruneDeadlines();
}

void BridgeLink::Poll(int64_t now_ns, std::vector<BridgeEvent>* out) {
  Impl& im = *impl_;
  // Connection events first: a reply read from a new connection must not be matched to a request
  // orphaned by a DISCONNECTED that is already queued.
  im.DrainMonitor();
  im.DrainReplies(out);
  im.FireDeadlines(now_ns, out);
  im.PruneDeadlines();
}

int64_t BridgeLink::NextDeadlineNs() const {
  return impl_->deadlines.empty() ? std::numeric_limits<int64_t>::max()
                                  : impl_->deadlines.front().at_ns;
}

bool BridgeLink::IsCorrelated(uint64_t token) const {
  const Impl& im = *impl_;
  auto [begin, end] = im.tokens.equal_range(token);
  for (auto it = begin; it != end; ++it) {
    const Entry& e = im.slots[it->second];
    if (e.phase != Phase::kFree && e.epoch == im.epoch) return true;
  }
  return false;
}

size_t BridgeLink::outstanding() const { return impl_->outstanding; }

size_t BridgeLink::unanswered() const { return impl_->unanswered; }

void* BridgeLink::poll_handle() { return impl_->dealer.handle(); }

void* BridgeLink::monitor_handle() { return impl_->monitor.handle(); }

BridgeLinkStats BridgeLink::stats() const { return impl_->stats; }

}  // namespace ordergate::transport
