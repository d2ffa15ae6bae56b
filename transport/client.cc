#include "transport/client.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <zmq.hpp>

#include "absl/strings/str_cat.h"

namespace ordergate::transport {
namespace {

constexpr int kSendTimeoutMs = 1000;

}  // namespace

struct OrderClient::Impl {
  explicit Impl(zmq::context_t& ctx) : socket(ctx, zmq::socket_type::dealer) {}
  zmq::socket_t socket;
  zmq::message_t frame;
};

OrderClient::OrderClient() = default;
OrderClient::~OrderClient() = default;

absl::StatusOr<std::unique_ptr<OrderClient>> OrderClient::Connect(IoContext& io,
                                                                  const std::string& endpoint) {
  std::unique_ptr<OrderClient> c(new OrderClient());
  try {
    c->impl_ = std::make_unique<Impl>(*static_cast<zmq::context_t*>(io.native()));
    // A client that goes away has nobody to hand replies to; don't hold the context open for them.
    c->impl_->socket.set(zmq::sockopt::linger, 0);
    c->impl_->socket.set(zmq::sockopt::sndtimeo, kSendTimeoutMs);
    c->impl_->socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot connect client to '", endpoint, "': ", e.what()));
  }
  return c;
}

absl::Status OrderClient::Send(absl::string_view body) {
  zmq::socket_t& s = impl_->socket;
  try {
    if (!s.send(zmq::const_buffer(nullptr, 0), zmq::send_flags::sndmore) ||
        !s.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none)) {
      return absl::UnavailableError("client send queue full");
    }
  } catch (const zmq::error_t& e) {
    return absl::UnavailableError(absl::StrCat("client send: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status OrderClient::Receive(std::string* body, int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  zmq::socket_t& s = impl_->socket;
  zmq::message_t& f = impl_->frame;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    zmq_pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    const int rc = zmq_poll(&item, 1, std::max<long>(left.count(), 0));
    if (rc < 0 && zmq_errno() != EINTR) {
      return absl::UnavailableError(absl::StrCat("client poll: ", zmq_strerror(zmq_errno())));
    }
    if (rc > 0) {
      try {
        if (s.recv(f, zmq::recv_flags::dontwait)) {
          bool ok = true;
          if (f.empty() && f.more()) {
            ok = s.recv(f, zmq::recv_flags::dontwait).has_value();
          }
          if (ok) body->assign(static_cast<const char*>(f.data()), f.size());
          const bool single_body = ok && !f.more();
          while (f.more() && s.recv(f, zmq::recv_flags::dontwait)) {
          }
          if (single_body) return absl::OkStatus();
          // Anything else is not a reply the contract defines; keep waiting for one.
        }
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR)
          return absl::UnavailableError(absl::StrCat("client recv: ", e.what()));
      }
    }
    if (Clock::now() >= deadline) return absl::DeadlineExceededError("no reply");
  }
}

void* OrderClient::poll_handle() { return impl_->socket.handle(); }

}  // namespace ordergate::transport
