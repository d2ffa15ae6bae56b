// The inside of ordergate::Client (include/ordergate/client.h), for its two files: the
// caller-facing half (public_client.cc: Connect and the public calls) and the I/O thread
// (public_client_io.cc: sends, replies, timers, reconnects). The bodies and replies are
// transport/public_client_wire.h's.
//
// Thread-safety: `mu` guards `queue` and `stopping`; the counters are atomics; `info`, `attempt_ms`
// and `default_deadline_ms` are set by Connect() before the I/O thread starts and never change;
// everything else is the I/O thread's alone.
#ifndef ORDERGATE_TRANSPORT_PUBLIC_CLIENT_IMPL_H_
#define ORDERGATE_TRANSPORT_PUBLIC_CLIENT_IMPL_H_

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
namespace client_internal {

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

inline std::chrono::milliseconds Ms(int64_t ms) { return std::chrono::milliseconds(ms); }

// How long the client waits for an attempt's reply beyond the timeout_ms it sent.
inline int64_t GraceMs(int64_t attempt_ms) { return std::max<int64_t>(100, attempt_ms / 10); }

inline Outcome Decided(const std::string& uuid, OutcomeStatus status, const char* code,
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

}  // namespace client_internal

using namespace client_internal;  // NOLINT: the two files of one class

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
  bool Write(const std::string& body);

  void Schedule(Clock::time_point t) { next_scan = std::min(next_scan, t); }

  void SendOrder(OrderEntry& e, Clock::time_point now);

  void SendStatus(StatusEntry& s, Clock::time_point now);

  // Removes the entry of `uuid` and queues its callbacks, run by RunDone().
  void Finish(const std::string& uuid, Outcome out);

  void RunDone();

  void Accept(Command& c, Clock::time_point now);

  // One reply from the socket.
  void OnReply(absl::string_view body, Clock::time_point now);

  static StatusResult StatusFromReply(const ClientReply& r);

  // Timers: deadlines and resends.
  void Scan(Clock::time_point now);

  // The monitor's events: after a reconnect every request in flight is asked again, same uuid.
  void OnMonitor(Clock::time_point now);

  void Run();

  static void Refuse(Command& c);

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

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_PUBLIC_CLIENT_IMPL_H_
