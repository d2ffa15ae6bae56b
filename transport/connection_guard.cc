#include "transport/connection_guard.h"

#include <atomic>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <zmq.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "transport/zap_handler.h"

namespace ordergate::transport {
namespace {

std::atomic<uint64_t> g_guard_seq{0};

constexpr int kMonitoredEvents = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED |
                                 ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

enum class Verdict : uint8_t { kAwaiting, kAdmitted, kRefused };

struct OpenConnection {
  Verdict verdict = Verdict::kAwaiting;
  uint64_t accept_seq = 0;
};

}  // namespace

struct ConnectionGuard::Impl {
  explicit Impl(zmq::context_t& ctx)
      : monitor(ctx, zmq::socket_type::pair),
        stop_reader(ctx, zmq::socket_type::pair),
        stop_writer(ctx, zmq::socket_type::pair) {}

  // --- guard thread only ---------------------------------------------------------------------
  void Run() {
    zmq_pollitem_t items[3] = {{stop_reader.handle(), 0, ZMQ_POLLIN, 0},
                               {monitor.handle(), 0, ZMQ_POLLIN, 0},
                               {zap->poll_handle(), 0, ZMQ_POLLIN, 0}};
    const auto decide = [this](const ZapRequest& req) { return Decide(req); };
    while (true) {
      if (zmq_poll(items, 3, -1) < 0) {
        if (zmq_errno() == EINTR) continue;
        return;  // ETERM: the context is going away
      }
      if (items[0].revents & ZMQ_POLLIN) return;
      if (items[1].revents & ZMQ_POLLIN) DrainMonitor();
      if (items[2].revents & ZMQ_POLLIN) {
        while (zap->ServiceOne(decide)) {
        }
      }
    }
  }

  ZapVerdict Decide(const ZapRequest& req) {
    if (req.domain != zap_domain) return ZapVerdict{400, "unknown ZAP domain", ""};
    // The request's connection was accepted before libzmq sent it, and the monitor event of that
    // accept was queued first (both are written by the same I/O thread): read it now.
    DrainMonitor();
    const bool admit = admitted < max_connections;
    if (!awaiting.empty()) {
      auto first = awaiting.begin();
      auto it = open.find(first->second);
      awaiting.erase(first);
      if (it != open.end()) {
        it->second.verdict = admit ? Verdict::kAdmitted : Verdict::kRefused;
        if (admit) ++admitted;
      }
    }
    Publish();
    if (admit) return ZapVerdict{200, "OK", ""};
    refused.fetch_add(1, std::memory_order_relaxed);
    return ZapVerdict{400, "connection limit reached", ""};
  }

  void DrainMonitor() {
    try {
      while (monitor.recv(frame, zmq::recv_flags::dontwait)) {
        // [event:u16 value:u32][endpoint]
        uint16_t event = 0;
        uint32_t value = 0;
        const bool sized = frame.size() >= 6;
        if (sized) {
          std::memcpy(&event, frame.data(), sizeof(event));
          std::memcpy(&value, static_cast<const char*>(frame.data()) + 2, sizeof(value));
        }
        while (frame.more() && monitor.recv(frame, zmq::recv_flags::dontwait)) {
        }
        if (sized) OnEvent(event, static_cast<int>(value));
      }
    } catch (const zmq::error_t&) {
      // ETERM: nothing more will come.
    }
    Publish();
  }

  void OnEvent(uint16_t event, int fd) {
    switch (event) {
      case ZMQ_EVENT_ACCEPTED:
        // A descriptor number still listed was closed without an event we saw: forget it first.
        Close(fd);
        open.emplace(fd, OpenConnection{Verdict::kAwaiting, next_seq});
        awaiting.emplace(next_seq, fd);
        ++next_seq;
        break;
      case ZMQ_EVENT_DISCONNECTED:
        Close(fd);
        break;
      case ZMQ_EVENT_ACCEPT_FAILED:
        accept_failures.fetch_add(1, std::memory_order_relaxed);
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        handshake_failures.fetch_add(1, std::memory_order_relaxed);
        break;
      default:
        break;
    }
  }

  void Close(int fd) {
    auto it = open.find(fd);
    if (it == open.end()) return;
    if (it->second.verdict == Verdict::kAdmitted) --admitted;
    if (it->second.verdict == Verdict::kAwaiting) awaiting.erase(it->second.accept_seq);
    open.erase(it);
  }

  void Publish() {
    open_count.store(open.size(), std::memory_order_relaxed);
    admitted_count.store(static_cast<uint64_t>(admitted), std::memory_order_relaxed);
  }

  // --- set before the thread starts, then read-only -------------------------------------------
  int max_connections = 0;
  std::string zap_domain;
  void* router = nullptr;

  // --- the guard thread's (created and closed by the owner while the thread is not running) ----
  std::unique_ptr<ZapHandler> zap;
  zmq::socket_t monitor;
  zmq::socket_t stop_reader;
  zmq::message_t frame;
  std::unordered_map<int, OpenConnection> open;  // by descriptor
  std::map<uint64_t, int> awaiting;              // accept order -> descriptor, awaiting a verdict
  uint64_t next_seq = 0;
  int admitted = 0;

  // --- the owner's ---------------------------------------------------------------------------
  zmq::socket_t stop_writer;
  std::thread thread;
  bool monitoring = false;

  // --- any thread ----------------------------------------------------------------------------
  std::atomic<uint64_t> open_count{0};
  std::atomic<uint64_t> admitted_count{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> accept_failures{0};
  std::atomic<uint64_t> handshake_failures{0};
};

ConnectionGuard::ConnectionGuard() = default;

ConnectionGuard::~ConnectionGuard() {
  if (!impl_) return;
  Impl& im = *impl_;
  if (im.thread.joinable()) {
    try {
      (void)im.stop_writer.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // The context is terminating: the thread's zmq_poll fails with ETERM and returns anyway.
    }
    im.thread.join();
  }
  // Stop the monitor before its PAIR closes; errors here have no one to go to.
  if (im.monitoring) zmq_socket_monitor(im.router, nullptr, 0);
}

absl::StatusOr<std::unique_ptr<ConnectionGuard>> ConnectionGuard::Start(
    IoContext& io, void* router_handle, int max_connections, const std::string& zap_domain) {
  if (max_connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_connections must be at least 1, got ", max_connections));
  }
  zmq::context_t& ctx = *static_cast<zmq::context_t*>(io.native());
  std::unique_ptr<ConnectionGuard> guard(new ConnectionGuard());
  const uint64_t seq = g_guard_seq.fetch_add(1);
  const std::string monitor_endpoint = absl::StrCat("inproc://ordergate-front-monitor-", seq);
  const std::string stop_endpoint = absl::StrCat("inproc://ordergate-front-guard-stop-", seq);
  try {
    guard->impl_ = std::make_unique<Impl>(ctx);
  } catch (const zmq::error_t& e) {
    return absl::InternalError(absl::StrCat("connection guard sockets: ", e.what()));
  }
  Impl& im = *guard->impl_;
  im.max_connections = max_connections;
  im.zap_domain = zap_domain;
  im.router = router_handle;

  auto zap = ZapHandler::Bind(io);
  if (!zap.ok()) return zap.status();
  im.zap = std::move(*zap);

  try {
    im.monitor.set(zmq::sockopt::linger, 0);
    im.stop_reader.set(zmq::sockopt::linger, 0);
    im.stop_writer.set(zmq::sockopt::linger, 0);
    im.stop_reader.bind(stop_endpoint);
    im.stop_writer.connect(stop_endpoint);
    if (zmq_setsockopt(router_handle, ZMQ_ZAP_DOMAIN, zap_domain.data(), zap_domain.size()) != 0) {
      return absl::InternalError(
          absl::StrCat("ZMQ_ZAP_DOMAIN on the front end: ", zmq_strerror(zmq_errno())));
    }
    // The monitor's PAIR must be connected before the ROUTER accepts anything: libzmq drops events
    // that find no peer.
    if (zmq_socket_monitor(router_handle, monitor_endpoint.c_str(), kMonitoredEvents) != 0) {
      return absl::InternalError(
          absl::StrCat("zmq_socket_monitor on the front end: ", zmq_strerror(zmq_errno())));
    }
    im.monitoring = true;
    im.monitor.connect(monitor_endpoint);
  } catch (const zmq::error_t& e) {
    return absl::InternalError(absl::StrCat("connection guard: ", e.what()));
  }
  try {
    im.thread = std::thread([&im] { im.Run(); });
  } catch (const std::system_error& e) {
    return absl::InternalError(absl::StrCat("connection guard thread: ", e.what()));
  }
  return guard;
}

ConnectionGuardStats ConnectionGuard::stats() const {
  const Impl& im = *impl_;
  ConnectionGuardStats s;
  s.connections_open = im.open_count.load(std::memory_order_relaxed);
  s.connections_admitted = im.admitted_count.load(std::memory_order_relaxed);
  s.refused = im.refused.load(std::memory_order_relaxed);
  s.accept_failures = im.accept_failures.load(std::memory_order_relaxed);
  s.handshake_failures = im.handshake_failures.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ordergate::transport
