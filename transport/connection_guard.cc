#include "transport/connection_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
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
  std::string peer;  // "ADDRESS:PORT" (getpeername at accept); "" when unknown
};

constexpr size_t kCurveKeyBytes = 32;

// The peer of an accepted descriptor, for the refusal log. "" when it cannot be read.
std::string PeerAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof host) == nullptr) return "";
    return absl::StrCat(host, ":", ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host) == nullptr) return "";
    return absl::StrCat("[", host, "]:", ntohs(in6->sin6_port));
  }
  return "local";  // ipc://
}

std::string Z85(const std::string& raw) {
  char text[kCurveKeyBytes * 5 / 4 + 1] = {};
  if (raw.size() != kCurveKeyBytes ||
      zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(raw.data()), raw.size()) == nullptr) {
    return "(not a 32-byte key)";
  }
  return text;
}

// Raw 32-byte key -> the User-Id of a connection admitted with it (CurveUserId).
using CurveClients = std::map<std::string, std::string>;

absl::StatusOr<std::shared_ptr<const CurveClients>> DecodeClients(
    const std::map<std::string, std::string>& z85_to_name) {
  auto clients = std::make_shared<CurveClients>();
  for (const auto& [z85, name] : z85_to_name) {
    uint8_t raw[kCurveKeyBytes];
    if (z85.size() != kCurveKeyBytes * 5 / 4 || zmq_z85_decode(raw, z85.c_str()) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("the allowlisted key of \"", name, "\" is not 40 characters of Z85"));
    }
    clients->emplace(std::string(reinterpret_cast<const char*>(raw), kCurveKeyBytes),
                     CurveUserId(name, z85));
  }
  return clients;
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string CurveUserId(absl::string_view name, absl::string_view z85_key) {
  return absl::StrCat(name, " ", z85_key);
}

std::pair<absl::string_view, absl::string_view> SplitCurveUserId(absl::string_view user_id) {
  const size_t space = user_id.find(' ');
  if (space == absl::string_view::npos) return {user_id, absl::string_view()};
  return {user_id.substr(0, space), user_id.substr(space + 1)};
}

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
      // Refusals not yet reported are reported when their interval is up, even if no more come.
      long timeout_ms = -1;
      if (unreported > 0) {
        timeout_ms = static_cast<long>(
            std::max<int64_t>(0, last_report_ms + opts.refusal_report_interval_ms - SteadyMs()));
      }
      if (zmq_poll(items, 3, timeout_ms) < 0) {
        if (zmq_errno() == EINTR) continue;
        return;  // ETERM: the context is going away
      }
      if (items[0].revents & ZMQ_POLLIN) return;
      MaybeReport();
      if (items[1].revents & ZMQ_POLLIN) DrainMonitor();
      if (items[2].revents & ZMQ_POLLIN) {
        while (zap->ServiceOne(decide)) {
        }
      }
    }
  }

  ZapVerdict Decide(const ZapRequest& req) {
    if (req.domain != opts.zap_domain) return ZapVerdict{400, "unknown ZAP domain", ""};
    // The request's connection was accepted before libzmq sent it, and the monitor event of that
    // accept was queued first (both are written by the same I/O thread): read it now.
    DrainMonitor();
    std::string user_id;
    if (opts.curve) {
      std::shared_ptr<const CurveClients> now;
      {
        std::lock_guard<std::mutex> lock(clients_mu);
        now = clients;
      }
      auto known = req.mechanism == "CURVE" && !req.credentials.empty()
                       ? now->find(req.credentials[0])
                       : now->end();
      if (known == now->end()) {
        AttributeVerdict(false);
        curve_unknown_key.fetch_add(1, std::memory_order_relaxed);
        NoteRefusal(req.address, req.credentials.empty()
                                     ? absl::StrCat("no CURVE key (", req.mechanism, ")")
                                     : absl::StrCat("unknown CURVE key ", Z85(req.credentials[0])));
        return ZapVerdict{400, "unknown key", ""};
      }
      user_id = known->second;
    }
    const bool admit = admitted < opts.max_connections;
    AttributeVerdict(admit);
    if (admit) return ZapVerdict{200, "OK", std::move(user_id)};
    refused.fetch_add(1, std::memory_order_relaxed);
    return ZapVerdict{400, "connection limit reached", ""};
  }

  // Gives the oldest connection awaiting a verdict this one (see the header on attribution).
  void AttributeVerdict(bool admit) {
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
  }

  // A refusal to report (rate-limited: MaybeReport).
  void NoteRefusal(const std::string& peer, std::string reason) {
    ++unreported;
    last_peer = peer.empty() ? "an unknown address" : peer;
    last_reason = std::move(reason);
    MaybeReport();
  }

  void MaybeReport() {
    if (unreported == 0 || !opts.on_refusals) return;
    const int64_t now_ms = SteadyMs();
    if (now_ms - last_report_ms < opts.refusal_report_interval_ms) return;
    const std::string line =
        absl::StrCat("front end refused ", unreported, " connection(s) since the last report (",
                     curve_unknown_key.load(std::memory_order_relaxed), " unknown key, ",
                     curve_handshake_failed.load(std::memory_order_relaxed),
                     " failed handshake in all); the last from ", last_peer, ": ", last_reason);
    unreported = 0;
    last_report_ms = now_ms;
    opts.on_refusals(line);
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
        open.emplace(fd, OpenConnection{Verdict::kAwaiting, next_seq,
                                        opts.curve ? PeerAddress(fd) : std::string()});
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
        handshake_failures.fetch_add(1, std::memory_order_relaxed);
        failure_reason = fd == EAGAIN ? "handshake timed out" : "handshake failed";
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        handshake_failures.fetch_add(1, std::memory_order_relaxed);
        // The value is the ZMQ_PROTOCOL_ERROR_* code.
        failure_reason = fd == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
                             ? "security mechanism mismatch (a client without a CURVE key)"
                             : absl::StrCat("ZMTP protocol error 0x", absl::Hex(fd));
        break;
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
    if (it->second.verdict == Verdict::kAwaiting) {
      awaiting.erase(it->second.accept_seq);
      if (opts.curve) {
        curve_handshake_failed.fetch_add(1, std::memory_order_relaxed);
        NoteRefusal(it->second.peer,
                    failure_reason.empty()
                        ? std::string("closed before completing the handshake (not ZMTP, or gone)")
                        : failure_reason);
      }
    }
    failure_reason.clear();
    open.erase(it);
  }

  void Publish() {
    open_count.store(open.size(), std::memory_order_relaxed);
    admitted_count.store(static_cast<uint64_t>(admitted), std::memory_order_relaxed);
  }

  // --- set before the thread starts, then read-only -------------------------------------------
  ConnectionGuardOptions opts;
  void* router = nullptr;

  // --- any thread, under clients_mu: the allowlist in force (ReplaceClients swaps it whole) -----
  std::mutex clients_mu;
  std::shared_ptr<const CurveClients> clients;

  // --- the guard thread's (created and closed by the owner while the thread is not running) ----
  std::unique_ptr<ZapHandler> zap;
  zmq::socket_t monitor;
  zmq::socket_t stop_reader;
  zmq::message_t frame;
  std::unordered_map<int, OpenConnection> open;  // by descriptor
  std::map<uint64_t, int> awaiting;              // accept order -> descriptor, awaiting a verdict
  uint64_t next_seq = 0;
  int admitted = 0;
  std::string failure_reason;  // of the last HANDSHAKE_FAILED event, for the DISCONNECTED after it
  uint64_t unreported = 0;     // refusals since the last report
  int64_t last_report_ms = 0;
  std::string last_peer;
  std::string last_reason;

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
  std::atomic<uint64_t> curve_unknown_key{0};
  std::atomic<uint64_t> curve_handshake_failed{0};
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
    IoContext& io, void* router_handle, ConnectionGuardOptions opts) {
  if (opts.max_connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_connections must be at least 1, got ", opts.max_connections));
  }
  auto clients = DecodeClients(opts.curve_clients);
  if (!clients.ok()) return clients.status();
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
  im.opts = std::move(opts);
  im.clients = *std::move(clients);
  im.router = router_handle;
  const std::string& zap_domain = im.opts.zap_domain;

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

absl::Status ConnectionGuard::ReplaceClients(const std::map<std::string, std::string>& clients) {
  auto decoded = DecodeClients(clients);
  if (!decoded.ok()) return decoded.status();
  Impl& im = *impl_;
  std::shared_ptr<const CurveClients> old;  // freed outside the lock
  std::lock_guard<std::mutex> lock(im.clients_mu);
  old = std::exchange(im.clients, *std::move(decoded));
  return absl::OkStatus();
}

ConnectionGuardStats ConnectionGuard::stats() const {
  const Impl& im = *impl_;
  ConnectionGuardStats s;
  s.connections_open = im.open_count.load(std::memory_order_relaxed);
  s.connections_admitted = im.admitted_count.load(std::memory_order_relaxed);
  s.refused = im.refused.load(std::memory_order_relaxed);
  s.accept_failures = im.accept_failures.load(std::memory_order_relaxed);
  s.handshake_failures = im.handshake_failures.load(std::memory_order_relaxed);
  s.curve_unknown_key = im.curve_unknown_key.load(std::memory_order_relaxed);
  s.curve_handshake_failed = im.curve_handshake_failed.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ordergate::transport
