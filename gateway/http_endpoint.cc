#include "gateway/http_endpoint.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/admin_api.h"
#include "gateway/metrics_exposition.h"
#include "gateway/window_routes.h"

namespace ordergate::gateway {

namespace {

using SteadyClock = std::chrono::steady_clock;

// When the connection a pool worker is about to serve was accepted (set by StampedPool).
thread_local SteadyClock::time_point t_accepted_at;

// cpp-httplib's thread pool, with each job stamped with its accept time, so that a connection's
// budget counts the time it queued for a worker, and counted in `open` from its accept.
class StampedPool final : public httplib::TaskQueue {
 public:
  StampedPool(size_t threads, std::atomic<size_t>& open) : pool_(threads), open_(open) {}
  void enqueue(std::function<void()> fn) override {
    open_.fetch_add(1, std::memory_order_relaxed);
    pool_.enqueue([fn = std::move(fn), at = SteadyClock::now()] {
      t_accepted_at = at;
      fn();
    });
  }
  // Runs every queued job before it returns (each closes its connection at once once stopping).
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::atomic<size_t>& open_;
};

// A connection's socket for cpp-httplib, where every wait ends at the connection's deadline or
// when `wake_fd` becomes readable (the server is stopping), whichever comes first. cpp-httplib's
// own socket stream waits read_timeout per read, so a client sending a byte every few seconds
// kept a worker, and stop(), for as long as it liked.
class BoundedStream final : public httplib::Stream {
 public:
  BoundedStream(int fd, int wake_fd, SteadyClock::time_point deadline)
      : fd_(fd), wake_fd_(wake_fd), deadline_(deadline) {}

  bool is_readable() const override { return Wait(POLLIN); }
  bool is_writable() const override { return Wait(POLLOUT); }

  ssize_t read(char* ptr, size_t size) override {
    for (;;) {
      if (!Wait(POLLIN)) return -1;
      const ssize_t n = ::recv(fd_, ptr, size, MSG_DONTWAIT);
      if (n >= 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) return n;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    for (;;) {
      if (!Wait(POLLOUT)) return -1;
      const ssize_t n = ::send(fd_, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(&::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(&::getsockname, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  // True when `events` (or an error or hang-up, which the next read or write reports) are ready
  // on the socket before the deadline and before the stop.
  bool Wait(short events) const {
    for (;;) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline_ - SteadyClock::now());
      if (left.count() <= 0) return false;
      pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
      const int n = ::poll(fds, 2, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || fds[1].revents != 0) return false;
      if (fds[0].revents != 0) return true;
    }
  }

  template <typename GetName>
  void Address(GetName get, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ip.clear();
    port = 0;
    if (get(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    char buf[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
      port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
      port = ntohs(a->sin6_port);
    }
    ip = buf;
  }

  int fd_;
  int wake_fd_;
  SteadyClock::time_point deadline_;
};

// What the server's workers share with HttpEndpoint.
struct ConnectionState {
  int wake_fd = -1;  // eventfd, written once by Shutdown() and never read: stays readable
  std::atomic<size_t> open{0};  // accepted (queued or served) and not yet closed
};

// cpp-httplib's server with every connection served through a BoundedStream. It overrides the
// (private, virtual) per-connection entry point, as cpp-httplib's own SSLServer does, and serves
// the requests with the protected process_request().
class BoundedServer final : public httplib::Server {
 public:
  explicit BoundedServer(ConnectionState& state) : state_(state) {
    new_task_queue = [&state] { return new StampedPool(CPPHTTPLIB_THREAD_POOL_COUNT, state.open); };
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    BoundedStream stream(sock, state_.wake_fd, t_accepted_at + HttpEndpoint::kConnectionBudget);
    bool ok = false;
    for (int left = HttpEndpoint::kMaxRequestsPerConnection; left > 0; --left) {
      // The next request (or the peer's close) before the deadline and before a stop.
      if (!stream.is_readable()) break;
      bool closed_by_client = false;
      ok = process_request(stream, /*close_connection=*/left == 1, closed_by_client, nullptr);
      if (!ok || closed_by_client) break;
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    state_.open.fetch_sub(1, std::memory_order_relaxed);
    return ok;
  }

  ConnectionState& state_;
};

// Why `host`:`port` cannot be bound, from a bind of our own (cpp-httplib reports only failure).
std::string BindFailureReason(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    return ::gai_strerror(rc);
  }
  std::string reason = "no address to bind";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      reason = std::strerror(errno);
      continue;
    }
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1) == 0) {
      reason = "it was busy a moment ago";
      ::close(fd);
      break;
    }
    reason = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return reason;
}

}  // namespace

struct HttpEndpoint::Impl {
  ConnectionState state;
  BoundedServer server{state};
  std::shared_mutex gateway_mu;
  const Gateway* gateway = nullptr;  // guarded by gateway_mu; null after Detach()
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool thread_done = false;  // guarded by mu
  bool stopping = false;     // guarded by mu
  bool abandoned = false;    // Shutdown() timed out: leak, never free
  int port = 0;

  ~Impl() {
    if (state.wake_fd >= 0) ::close(state.wake_fd);
  }
};

HttpEndpoint::HttpEndpoint() : impl_(std::make_unique<Impl>()) {}

HttpEndpoint::~HttpEndpoint() {
  Detach();
  Shutdown(absl::Seconds(5));
  if (impl_->abandoned) (void)impl_.release();  // its thread may still run: never free it
}

void HttpEndpoint::Detach() {
  std::unique_lock<std::shared_mutex> l(impl_->gateway_mu);
  impl_->gateway = nullptr;
}

bool HttpEndpoint::Shutdown(absl::Duration bound) {
  Impl& im = *impl_;
  std::unique_lock<std::mutex> l(im.mu);
  if (!im.stopping) {
    im.stopping = true;
    // Every connection's waits end now, and every later one at once.
    const uint64_t one = 1;
    (void)!::write(im.state.wake_fd, &one, sizeof one);
    // Start() returned only once the server ran, so stop() closes its socket (calling it when the
    // loop has already ended is a no-op).
    im.server.stop();
  }
  if (!im.thread.joinable()) return !im.abandoned;
  if (!im.cv.wait_for(l, absl::ToChronoMilliseconds(bound), [&] { return im.thread_done; })) {
    im.thread.detach();
    im.abandoned = true;
    return false;
  }
  l.unlock();
  im.thread.join();
  return true;
}

int HttpEndpoint::port() const { return impl_->port; }

size_t HttpEndpoint::open_connections() const {
  return impl_->state.open.load(std::memory_order_relaxed);
}

namespace {

void AppendSeconds(std::string* out, double ns) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), ns / 1e9);
  out->append(buf, r.ptr);
}

}  // namespace

ReadyState ReadyStateOf(const Gateway& gw) {
  ReadyState s;
  s.serving = gw.ready();
  s.bridge_up = gw.bridge_up();
  s.bridge_reply_age_ms = gw.bridge_reply_age_ms();
  s.ready = s.serving && s.bridge_up;
  return s;
}

std::string RenderReady(const ReadyState& s) {
  std::string out = absl::StrCat(
      "{\"ready\":", s.ready ? "true" : "false", ",\"serving\":", s.serving ? "true" : "false",
      ",\"bridge\":\"", s.bridge_up ? "up" : "down", "\",\"bridge_last_reply_age_seconds\":");
  if (s.bridge_reply_age_ms < 0) {
    out += "null";
  } else {
    AppendSeconds(&out, static_cast<double>(s.bridge_reply_age_ms) * 1e6);
  }
  if (!s.serving) {
    out += ",\"reason\":\"the order loop is not running (starting, or draining to stop)\"";
  } else if (!s.bridge_up) {
    out += ",\"reason\":\"bridge down: orders get BRIDGE_DOWN until it answers\"";
  }
  out += "}\n";
  return out;
}

std::string RenderLatencyJson(const Gateway& gw) {
  std::string out;
  AppendLatencyJson(gw.stage_latency().Snapshot(), &out);
  out.push_back('\n');
  return out;
}

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(const std::string& host_port,
                                                                  const Gateway& gw) {
  if (host_port.empty()) {
    return absl::InvalidArgumentError("metrics address is empty");
  }
  if (absl::Status valid = CheckMetricsListen(host_port); !valid.ok()) return valid;
  const size_t colon = host_port.rfind(':');
  int port = 0;
  (void)absl::SimpleAtoi(absl::string_view(host_port).substr(colon + 1), &port);
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // getaddrinfo takes IPv6 without brackets
  }

  std::unique_ptr<HttpEndpoint> ep(new HttpEndpoint());
  Impl* im = ep->impl_.get();
  im->state.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (im->state.wake_fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics address ", host_port, ": eventfd: ", std::strerror(errno)));
  }
  im->gateway = &gw;
  // Runs `render` with the gateway, or answers 503 once it was detached (the process stops).
  auto with_gateway = [im](httplib::Response& res, auto&& render) {
    std::shared_lock<std::shared_mutex> l(im->gateway_mu);
    if (im->gateway == nullptr) {
      res.status = 503;
      res.set_content("{\"ready\":false,\"stopping\":true}\n", "application/json");
      return;
    }
    render(*im->gateway);
  };
  BoundedServer& s = im->server;
  // SO_REUSEADDR only: cpp-httplib's default also sets SO_REUSEPORT, and two gateways then shared
  // one metrics port without an error, scrapes alternating between them.
  s.set_socket_options([](socket_t fd) {
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [with_gateway](const httplib::Request&, httplib::Response& res) {
    with_gateway(res, [&res](const Gateway& g) {
      const ReadyState state = ReadyStateOf(g);
      res.status = state.ready ? 200 : 503;
      res.set_content(RenderReady(state), "application/json");
    });
  });
  s.Get("/metrics", [with_gateway](const httplib::Request&, httplib::Response& res) {
    with_gateway(res, [&res](const Gateway& g) {
      res.set_content(RenderMetrics(g), "text/plain; version=0.0.4");
    });
  });
  s.Get("/latency", [with_gateway](const httplib::Request&, httplib::Response& res) {
    with_gateway(res, [&res](const Gateway& g) {
      res.set_content(RenderLatencyJson(g), "application/json");
    });
  });
  RegisterAdminRoutes(
      s, [with_gateway](httplib::Response& res, const auto& render) { with_gateway(res, render); });
  RegisterWindowRoutes(
      s, [with_gateway](httplib::Response& res, const auto& render) { with_gateway(res, render); });
  const int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot bind metrics address ", host_port, ": ",
                                               BindFailureReason(host, port)));
  }
  im->port = bound;
  im->thread = std::thread([im] {
    im->server.listen_after_bind();
    std::lock_guard<std::mutex> l(im->mu);
    im->thread_done = true;
    im->cv.notify_all();
  });
  // Shutdown() may stop() the server only once it runs (cpp-httplib's stop() does nothing before,
  // and its loop would then never end): return when it does.
  const auto give_up = SteadyClock::now() + std::chrono::seconds(5);
  while (!s.is_running()) {
    {
      std::lock_guard<std::mutex> l(im->mu);
      if (im->thread_done) break;
    }
    if (SteadyClock::now() > give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!s.is_running()) {
    return absl::UnavailableError(
        absl::StrCat("metrics address ", host_port, ": the HTTP server did not start"));
  }
  return ep;
}

}  // namespace ordergate::gateway
