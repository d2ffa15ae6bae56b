// ordergate::Client (include/ordergate/client.h): Connect() and the calls of the caller's threads,
// which only queue work for the I/O thread (transport/public_client_io.cc).
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "absl/strings/str_cat.h"
#include "ordergate/client.h"
#include "transport/curve_cert.h"
#include "transport/public_client_impl.h"
#include "transport/public_client_wire.h"

namespace ordergate {

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
  if (o.curve_server_key.empty() != o.curve_secret_cert.empty()) {
    return absl::InvalidArgumentError(
        "curve_server_key and curve_secret_cert go together: give both (CURVE) or neither");
  }
  transport::CurveKeyPair curve;  // this client's keys; empty without CURVE
  std::string server_key;
  if (!o.curve_secret_cert.empty()) {
    auto mine = transport::ReadCurveSecretCertificate(o.curve_secret_cert);
    if (!mine.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("curve_secret_cert: ", mine.status().message()));
    }
    curve = {mine->public_key, mine->secret_key};
    if (transport::IsCurveKey(o.curve_server_key)) {
      server_key = o.curve_server_key;
    } else {
      auto server = transport::ReadCurveCertificate(o.curve_server_key);
      if (!server.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "curve_server_key is neither 40 characters of Z85 nor a readable certificate: ",
            server.status().message()));
      }
      server_key = server->public_key;
    }
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
    if (!server_key.empty()) {
      im.socket->set(zmq::sockopt::curve_serverkey, server_key);
      im.socket->set(zmq::sockopt::curve_publickey, curve.public_key);
      im.socket->set(zmq::sockopt::curve_secretkey, curve.secret_key);
    }
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
