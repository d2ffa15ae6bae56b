// ordergate::Client (include/ordergate/client.h): the caller-facing half and the I/O thread. The
// bodies and replies are transport/public_client_wire.h's.
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "absl/strings/str_cat.h"
#include "ordergate/client.h"
#include "transport/public_client_wire.h"

namespace ordergate {
namespace {

using Clock = std::chrono::steady_clock;
using transport::ClientReply;
using transport::ReplyKind;
using StatusResult = absl::StatusOr<std::optional<Outcome>>;
using StatusCallback = std::function<void(StatusResult)>;

constexpr int64_t kFallbackAttemptMs = 2000;  // a gateway whose PING names no client_timeout_ms
constexpr int64_t kMinAttemptMs = 20;
constexpr int64_t kMaxAttemptMs = 600000;
constexpr auto kFirstNotNowDelay = std::chrono::milliseconds(50);
constexpr auto kMaxNotNowDelay = std::chrono::milliseconds(1000);
constexpr auto kSendRetryDelay = std::chrono::milliseconds(100);  // the socket's queue was full
constexpr int kMaxRepliesPerWake = 4096;
constexpr int kMonitorEvents = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED;

std::chrono::milliseconds Ms(int64_t ms) { return std::chrono::milliseconds(ms); }

// How long the client waits for an attempt's reply beyond the timeout_ms it sent.
int64_t GraceMs(int64_t attempt_ms) { return std::max<int64_t>(100, attempt_ms / 10); }

Outcome Decided(const std::string& uuid, OutcomeStatus status, const char* code,
                std::string message) {
  Outcome o;
  o.uuid = uuid;
  o.status = status;
  o.error_code = code;
  o.message = std::move(message);
  return o;
}

struct OrderEntry {
  std::string uuid;
  std::string body;
  std::vector<Client::Callback> waiters;  // the first one's Submit sent it; the others joined
  Clock::time_point deadline;
  Clock::time_point last_send;
  Clock::time_point wake;  // when to send again if nothing settles it first
  bool wake_after_not_now = false;
  Clock::duration not_now_delay = kFirstNotNowDelay;
  std::optional<Outcome> last_not_now;  // the last reply, when it was a not-now refusal
};

struct StatusEntry {
  std::string body;
  StatusCallback done;
  Clock::time_point deadline;
  Clock::time_point wake;
};

struct Command {
  bool is_status = false;
  std::string uuid;
  std::string body;
  Client::Callback done;
  StatusCallback status_done;
  int64_t deadline_ms = 0;
};

}  // namespace

struct Client::Impl {
  ClientOptions options;
  GatewayInfo info;
  int64_t attempt_ms = kFallbackAttemptMs;
  int64_t default_deadline_ms = 0;

  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> socket;
  std::unique_ptr<zmq::socket_t> monitor;
  int wake_fd = -1;
  std::thread io;
  std::mutex join_mu;  // one Close() joins io
  std::atomic<std::thread::id> io_id{};

  std::mutex mu;  // guards queue and stopping
  std::vector<Command> queue;
  bool stopping = false;

  // The I/O thread's own.
  std::unordered_map<std::string, std::unique_ptr<OrderEntry>> orders;
  std::unordered_map<std::string, std::deque<StatusEntry>> statuses;
  Clock::time_point next_scan = Clock::time_point::max();
  bool was_connected = false;
  bool disconnected = false;
  std::vector<std::pair<std::unique_ptr<OrderEntry>, Outcome>> done_now;

  struct Counters {
    std::atomic<uint64_t> submitted{0}, sends{0}, pending{0}, silent{0}, not_now{0}, reconnects{0},
        unmatched{0}, in_flight{0};
  } n;

  ~Impl() {
    if (wake_fd >= 0) ::close(wake_fd);
  }

  Clock::duration AttemptWait() const { return Ms(attempt_ms + GraceMs(attempt_ms)); }

  void Wake() const {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t w = ::write(wake_fd, &one, sizeof one);
  }

  // Writes [empty][body]. False when the socket's queue is full (then the caller retries later).
  bool Write(const std::string& body) {
    try {
      if (!socket->send(zmq::const_buffer(nullptr, 0),
                        zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        return false;
      }
      // A DEALER takes the second frame once it took the first.
      return socket->send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none)
          .has_value();
    } catch (const zmq::error_t&) {
      return false;
    }
  }

  void Schedule(Clock::time_point t) { next_scan = std::min(next_scan, t); }

  void SendOrder(OrderEntry& e, Clock::time_point now) {
    e.wake_after_not_now = false;
    if (Write(e.body)) {
      n.sends.fetch_add(1, std::memory_order_relaxed);
      e.last_send = now;
      e.wake = now + AttemptWait();
    } else {
      e.wake = now + kSendRetryDelay;
    }
    Schedule(std::min(e.wake, e.deadline));
  }

  void SendStatus(StatusEntry& s, Clock::time_point now) {
    s.wake = now + (Write(s.body) ? AttemptWait() : kSendRetryDelay);
    Schedule(std::min(s.wake, s.deadline));
  }

  // Removes the entry of `uuid` and queues its callbacks, run by RunDone().
  void Finish(const std::string& uuid, Outcome out) {
    auto it = orders.find(uuid);
    if (it == orders.end()) return;
    done_now.emplace_back(std::move(it->second), std::move(out));
    orders.erase(it);
    n.in_flight.fetch_sub(1, std::memory_order_relaxed);
  }

  void RunDone() {
    std::vector<std::pair<std::unique_ptr<OrderEntry>, Outcome>> batch;
    batch.swap(done_now);
    for (auto& [entry, out] : batch) {
      for (size_t i = 0; i < entry->waiters.size(); ++i) {
        if (i == 1) out.duplicate = true;  // joined at this client
        entry->waiters[i](out);
      }
    }
  }

  void Accept(Command& c, Clock::time_point now) {
    if (c.is_status) {
      if (orders.count(c.uuid) != 0) {
        c.status_done(std::optional<Outcome>(
            Decided(c.uuid, OutcomeStatus::kInFlight, "", "in flight at this client")));
        return;
      }
      StatusEntry s{std::move(c.body), std::move(c.status_done), now + Ms(c.deadline_ms), now};
      auto& q = statuses[c.uuid];
      q.push_back(std::move(s));
      SendStatus(q.back(), now);
      return;
    }
    auto it = orders.find(c.uuid);
    if (it != orders.end()) {
      if (it->second->body == c.body) {
        it->second->waiters.push_back(std::move(c.done));
      } else {
        c.done(Decided(c.uuid, OutcomeStatus::kRejected, "IDEMPOTENCY_CONFLICT",
                       "this uuid is in flight at this client for a different order"));
      }
      return;
    }
    auto e = std::make_unique<OrderEntry>();
    e->uuid = c.uuid;
    e->body = std::move(c.body);
    e->waiters.push_back(std::move(c.done));
    e->deadline = now + Ms(c.deadline_ms);
    OrderEntry& ref = *e;
    orders.emplace(c.uuid, std::move(e));
    n.in_flight.fetch_add(1, std::memory_order_relaxed);
    SendOrder(ref, now);
  }

  // One reply from the socket.
  void OnReply(absl::string_view body, Clock::time_point now) {
    ClientReply r;
    if (!transport::ReadClientReply(body, &r) || !r.has_uuid) {
      n.unmatched.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::string uuid = r.outcome.uuid;  // a copy: r.outcome is moved below
    auto st = statuses.find(uuid);
    auto it = orders.find(uuid);
    if (st != statuses.end()) {
      StatusEntry s = std::move(st->second.front());
      st->second.pop_front();
      if (st->second.empty()) statuses.erase(st);
      s.done(StatusFromReply(r));
      if (it == orders.end() || r.kind != ReplyKind::kFinal) return;
    }
    if (it == orders.end()) {
      n.unmatched.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    OrderEntry& e = *it->second;
    switch (r.kind) {
      case ReplyKind::kFinal:
        Finish(uuid, std::move(r.outcome));
        return;
      case ReplyKind::kPending:
        n.pending.fetch_add(1, std::memory_order_relaxed);
        e.last_not_now.reset();
        // A PENDING that answers an older copy while a newer send is out changes nothing: that
        // send's own reply (or its wait) decides.
        if (now - e.last_send >= Ms(attempt_ms / 2)) SendOrder(e, now);
        return;
      case ReplyKind::kNotNow:
        if (!options.retry_not_now) {
          Finish(uuid, std::move(r.outcome));
          return;
        }
        e.last_not_now = std::move(r.outcome);
        e.wake = now + e.not_now_delay;
        e.wake_after_not_now = true;
        e.not_now_delay = std::min<Clock::duration>(2 * e.not_now_delay, kMaxNotNowDelay);
        Schedule(std::min(e.wake, e.deadline));
        return;
      case ReplyKind::kNotFound:
      case ReplyKind::kPing:
      case ReplyKind::kOther:
        n.unmatched.fetch_add(1, std::memory_order_relaxed);
        return;
    }
  }

  static StatusResult StatusFromReply(const ClientReply& r) {
    switch (r.kind) {
      case ReplyKind::kNotFound:
        return std::optional<Outcome>();
      case ReplyKind::kPending:
        return std::optional<Outcome>(r.outcome);
      case ReplyKind::kFinal:
        if (r.outcome.status == OutcomeStatus::kRejected && !r.outcome.recorded) {
          return absl::InternalError(
              absl::StrCat("ORDER_STATUS refused: ", r.outcome.error_code, " ", r.outcome.message));
        }
        return std::optional<Outcome>(r.outcome);
      case ReplyKind::kNotNow:
        return absl::UnavailableError(absl::StrCat(r.outcome.error_code, ": ", r.outcome.message));
      case ReplyKind::kPing:
      case ReplyKind::kOther:
        break;
    }
    return absl::InternalError("ORDER_STATUS: a reply without an order status");
  }

  // Timers: deadlines and resends.
  void Scan(Clock::time_point now) {
    next_scan = Clock::time_point::max();
    std::vector<std::string> expired;
    for (auto& [uuid, e] : orders) {
      if (now >= e->deadline) {
        expired.push_back(uuid);
        continue;
      }
      if (now >= e->wake) {
        (e->wake_after_not_now ? n.not_now : n.silent).fetch_add(1, std::memory_order_relaxed);
        SendOrder(*e, now);
      }
      Schedule(std::min(e->wake, e->deadline));
    }
    for (const std::string& uuid : expired) {
      OrderEntry& e = *orders[uuid];
      Outcome out = e.last_not_now.has_value()
                        ? *e.last_not_now
                        : Decided(uuid, OutcomeStatus::kUnknown, "CLIENT_DEADLINE",
                                  "no final outcome before the client's deadline; the order may "
                                  "be in flight: ask Status(uuid), never a new uuid");
      Finish(uuid, std::move(out));
    }
    std::vector<StatusCallback> timed_out;
    for (auto it = statuses.begin(); it != statuses.end();) {
      auto& q = it->second;
      for (auto s = q.begin(); s != q.end();) {
        if (now >= s->deadline) {
          timed_out.push_back(std::move(s->done));
          s = q.erase(s);
          continue;
        }
        if (now >= s->wake) SendStatus(*s, now);
        Schedule(std::min(s->wake, s->deadline));
        ++s;
      }
      it = q.empty() ? statuses.erase(it) : std::next(it);
    }
    for (auto& done : timed_out)
      done(absl::DeadlineExceededError("ORDER_STATUS: no reply in time"));
  }

  // The monitor's events: after a reconnect every request in flight is asked again, same uuid.
  void OnMonitor(Clock::time_point now) {
    zmq::message_t event;
    zmq::message_t address;
    while (monitor->recv(event, zmq::recv_flags::dontwait)) {
      if (event.more()) (void)monitor->recv(address, zmq::recv_flags::dontwait);
      if (event.size() < sizeof(uint16_t)) continue;
      uint16_t id = 0;
      std::memcpy(&id, event.data(), sizeof id);
      if (id == ZMQ_EVENT_DISCONNECTED) {
        disconnected = true;
      } else if (id == ZMQ_EVENT_CONNECTED) {
        if (was_connected && disconnected) {
          n.reconnects.fetch_add(1, std::memory_order_relaxed);
          for (auto& [uuid, e] : orders) SendOrder(*e, now);
          for (auto& [uuid, q] : statuses) {
            for (StatusEntry& s : q) SendStatus(s, now);
          }
        }
        was_connected = true;
        disconnected = false;
      }
    }
  }

  void Run() {
    zmq::message_t frame;
    for (;;) {
      Clock::time_point now = Clock::now();
      int64_t timeout_ms = 1000;
      if (next_scan != Clock::time_point::max()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(next_scan - now).count();
        timeout_ms = std::clamp<int64_t>(left, 0, 1000);
      }
      zmq_pollitem_t items[3] = {{socket->handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor->handle(), 0, ZMQ_POLLIN, 0},
                                 {nullptr, wake_fd, ZMQ_POLLIN, 0}};
      (void)zmq_poll(items, 3, static_cast<long>(timeout_ms));
      now = Clock::now();
      if ((items[2].revents & ZMQ_POLLIN) != 0) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t r = ::read(wake_fd, &count, sizeof count);
      }
      std::vector<Command> cmds;
      bool stop = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        cmds.swap(queue);
        stop = stopping;
      }
      for (Command& c : cmds) {
        if (stop) {
          Refuse(c);
        } else {
          Accept(c, now);
        }
      }
      if (stop) break;
      for (int i = 0; i < kMaxRepliesPerWake; ++i) {
        try {
          if (!socket->recv(frame, zmq::recv_flags::dontwait)) break;
          if (frame.empty() && frame.more()) {
            if (!socket->recv(frame, zmq::recv_flags::dontwait)) break;
          }
          const bool single = !frame.more();
          const absl::string_view body(static_cast<const char*>(frame.data()), frame.size());
          if (single) OnReply(body, now);
          while (frame.more() && socket->recv(frame, zmq::recv_flags::dontwait)) {
          }
        } catch (const zmq::error_t&) {
          break;
        }
      }
      OnMonitor(now);
      if (now >= next_scan) Scan(now);
      RunDone();
    }
    for (auto& [uuid, e] : orders) {
      done_now.emplace_back(std::move(e),
                            Decided(uuid, OutcomeStatus::kUnknown, "CLIENT_CLOSED",
                                    "the client closed before the final outcome; the order may "
                                    "be in flight: ask Status(uuid), never a new uuid"));
    }
    n.in_flight.store(0, std::memory_order_relaxed);
    orders.clear();
    RunDone();
    for (auto& [uuid, q] : statuses) {
      for (StatusEntry& s : q) s.done(absl::UnavailableError("the client is closed"));
    }
    statuses.clear();
    monitor.reset();
    socket.reset();
  }

  static void Refuse(Command& c) {
    if (c.is_status) {
      c.status_done(absl::UnavailableError("the client is closed"));
    } else {
      c.done(Decided(c.uuid, OutcomeStatus::kRejected, "CLIENT_CLOSED",
                     "the client is closed; nothing was sent"));
    }
  }

  // False (and `c` untouched) when the client is closed.
  bool Enqueue(Command& c) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return false;
      queue.push_back(std::move(c));
    }
    Wake();
    return true;
  }

  bool OnIoThread() const { return io_id.load() == std::this_thread::get_id(); }
};

Client::Client() = default;

Client::~Client() { Close(); }

std::string Client::NewUuid() { return transport::NewUuidV4(); }

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  const ClientOptions& o = options;
  if (o.endpoint.rfind("tcp://", 0) != 0 && o.endpoint.rfind("ipc://", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint ('", o.endpoint, "') must be tcp://HOST:PORT or ipc://PATH"));
  }
  if (o.connect_timeout_ms < 1 || o.connect_timeout_ms > 600000) {
    return absl::InvalidArgumentError(
        absl::StrCat("connect_timeout_ms (", o.connect_timeout_ms, ") must be within 1..600000"));
  }
  if (o.request_timeout_ms != 0 &&
      (o.request_timeout_ms < kMinAttemptMs || o.request_timeout_ms > kMaxAttemptMs)) {
    return absl::InvalidArgumentError(absl::StrCat("request_timeout_ms (", o.request_timeout_ms,
                                                   ") must be 0 or within 20..600000"));
  }
  if (o.order_deadline_ms < 0 || o.order_deadline_ms > 86400000) {
    return absl::InvalidArgumentError(
        absl::StrCat("order_deadline_ms (", o.order_deadline_ms, ") must be within 0..86400000"));
  }
  std::unique_ptr<Client> c(new Client());
  c->impl_ = std::make_unique<Impl>();
  Impl& im = *c->impl_;
  im.options = o;
  im.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (im.wake_fd < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  static std::atomic<uint64_t> next_monitor{0};
  const std::string monitor_endpoint =
      absl::StrCat("inproc://ordergate-client-monitor-", next_monitor.fetch_add(1));
  try {
    im.socket = std::make_unique<zmq::socket_t>(im.ctx, zmq::socket_type::dealer);
    // Nothing queued is worth holding the process for once the client is gone.
    im.socket->set(zmq::sockopt::linger, 0);
    if (zmq_socket_monitor(im.socket->handle(), monitor_endpoint.c_str(), kMonitorEvents) != 0) {
      return absl::InternalError(absl::StrCat("zmq_socket_monitor: ", zmq_strerror(zmq_errno())));
    }
    im.monitor = std::make_unique<zmq::socket_t>(im.ctx, zmq::socket_type::pair);
    im.monitor->set(zmq::sockopt::linger, 0);
    im.monitor->connect(monitor_endpoint);
    im.socket->connect(o.endpoint);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot connect to '", o.endpoint, "': ", e.what()));
  }

  // PING, on this thread before the I/O thread exists: the gateway's timeouts decide ours.
  const std::string ping_uuid = absl::StrCat("ordergate-client#ping-", NewUuid());
  std::string ping;
  transport::WritePingBody(ping_uuid, &ping);
  const Clock::time_point give_up = Clock::now() + Ms(o.connect_timeout_ms);
  const bool sent = im.Write(ping);
  bool answered = false;
  zmq::message_t frame;
  while (sent && !answered) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(give_up - Clock::now());
    if (left.count() <= 0) break;
    zmq_pollitem_t item{im.socket->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, static_cast<long>(left.count())) < 0 && zmq_errno() != EINTR) break;
    try {
      if (!im.socket->recv(frame, zmq::recv_flags::dontwait)) continue;
      if (frame.empty() && frame.more()) (void)im.socket->recv(frame);
    } catch (const zmq::error_t&) {
      break;
    }
    ClientReply r;
    const absl::string_view body(static_cast<const char*>(frame.data()), frame.size());
    // Anything else (a stray reply) is not the PING's: keep waiting.
    if (transport::ReadClientReply(body, &r) && r.kind == ReplyKind::kPing &&
        r.outcome.uuid == ping_uuid) {
      im.info = r.gateway;
      answered = true;
    }
  }
  if (!answered) {
    return absl::UnavailableError(absl::StrCat("no PING reply from '", o.endpoint, "' within ",
                                               o.connect_timeout_ms, " ms: is ordergated there?"));
  }
  int64_t attempt = o.request_timeout_ms;
  if (attempt == 0)
    attempt = im.info.client_timeout_ms > 0 ? im.info.client_timeout_ms : kFallbackAttemptMs;
  im.attempt_ms = std::clamp(attempt, kMinAttemptMs, kMaxAttemptMs);
  im.default_deadline_ms =
      o.order_deadline_ms > 0
          ? o.order_deadline_ms
          : std::max<int64_t>(im.info.bridge_timeout_ms, 0) + 2 * im.attempt_ms + 1000;
  im.io = std::thread([&im] {
    im.io_id.store(std::this_thread::get_id());
    im.Run();
  });
  return c;
}

void Client::Submit(const Order& order, Callback done, int64_t deadline_ms) {
  Impl& im = *impl_;
  im.n.submitted.fetch_add(1, std::memory_order_relaxed);
  Command c;
  c.uuid = order.uuid.empty() ? NewUuid() : order.uuid;
  if (!transport::IsWireUuid(c.uuid)) {
    done(Decided(c.uuid, OutcomeStatus::kRejected, "INVALID_UUID",
                 "uuid must be 1-64 characters of [A-Za-z0-9._:-]; nothing was sent"));
    return;
  }
  if (const absl::string_view bad = transport::NonFiniteField(order); !bad.empty()) {
    done(Decided(c.uuid, OutcomeStatus::kRejected, std::string(bad).c_str(),
                 "a number is not finite; nothing was sent"));
    return;
  }
  if (order.uuid.empty()) {
    Order named = order;
    named.uuid = c.uuid;
    transport::WriteClientOrderBody(named, im.attempt_ms, &c.body);
  } else {
    transport::WriteClientOrderBody(order, im.attempt_ms, &c.body);
  }
  c.deadline_ms = deadline_ms > 0 ? deadline_ms : im.default_deadline_ms;
  c.done = std::move(done);
  if (!im.Enqueue(c)) Impl::Refuse(c);
}

std::future<Outcome> Client::Submit(const Order& order, int64_t deadline_ms) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> f = promise->get_future();
  Submit(
      order, [promise](const Outcome& out) { promise->set_value(out); }, deadline_ms);
  return f;
}

Outcome Client::SubmitAndWait(const Order& order, int64_t deadline_ms) {
  if (impl_->OnIoThread()) {
    impl_->n.submitted.fetch_add(1, std::memory_order_relaxed);
    return Decided(order.uuid, OutcomeStatus::kRejected, "CALLED_FROM_CALLBACK",
                   "SubmitAndWait() from a callback would wait forever; nothing was sent");
  }
  return Submit(order, deadline_ms).get();
}

absl::StatusOr<std::optional<Outcome>> Client::Status(const std::string& uuid, int64_t timeout_ms) {
  Impl& im = *impl_;
  if (im.OnIoThread()) {
    return absl::FailedPreconditionError("Status() from a callback would wait forever");
  }
  if (!transport::IsWireUuid(uuid)) {
    return absl::InvalidArgumentError("uuid must be 1-64 characters of [A-Za-z0-9._:-]");
  }
  auto promise = std::make_shared<std::promise<StatusResult>>();
  std::future<StatusResult> f = promise->get_future();
  Command c;
  c.is_status = true;
  c.uuid = uuid;
  transport::WriteStatusBody(uuid, im.attempt_ms, &c.body);
  c.deadline_ms = timeout_ms > 0 ? timeout_ms : 3 * (im.attempt_ms + GraceMs(im.attempt_ms));
  c.status_done = [promise](StatusResult r) { promise->set_value(std::move(r)); };
  if (!im.Enqueue(c)) return absl::UnavailableError("the client is closed");
  return f.get();
}

GatewayInfo Client::gateway_info() const { return impl_->info; }

int64_t Client::request_timeout_ms() const { return impl_->attempt_ms; }

ClientStats Client::stats() const {
  const Impl::Counters& n = impl_->n;
  ClientStats s;
  s.submitted = n.submitted.load(std::memory_order_relaxed);
  s.sends = n.sends.load(std::memory_order_relaxed);
  s.pending_replies = n.pending.load(std::memory_order_relaxed);
  s.silent_resends = n.silent.load(std::memory_order_relaxed);
  s.not_now_retries = n.not_now.load(std::memory_order_relaxed);
  s.reconnects = n.reconnects.load(std::memory_order_relaxed);
  s.unmatched_replies = n.unmatched.load(std::memory_order_relaxed);
  s.in_flight = n.in_flight.load(std::memory_order_relaxed);
  return s;
}

void Client::Close() {
  if (!impl_) return;
  Impl& im = *impl_;
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.stopping = true;
  }
  if (im.wake_fd >= 0) im.Wake();
  if (im.OnIoThread()) return;
  std::lock_guard<std::mutex> lock(im.join_mu);
  if (im.io.joinable()) im.io.join();
}

}  // namespace ordergate
