#include "transport/front_end.h"

#include <cerrno>
#include <cstring>
#include <zmq.hpp>

#include "absl/strings/str_cat.h"

namespace ordergate::transport {
namespace {

constexpr int kLingerMs = 1000;

absl::Status Unavailable() { return absl::Status(absl::StatusCode::kUnavailable, ""); }

}  // namespace

struct FrontEnd::Impl {
  explicit Impl(zmq::context_t& ctx) : socket(ctx, zmq::socket_type::router) {}

  // Reads and discards the remaining parts of the current multipart message. Returns false when the
  // socket failed mid-message (the rest is then gone anyway).
  bool DrainRest() {
    while (frame.more()) {
      try {
        if (!socket.recv(frame, zmq::recv_flags::dontwait)) return false;
      } catch (const zmq::error_t&) {
        return false;
      }
    }
    return true;
  }

  ReceiveResult Drop() {
    DrainRest();
    ++dropped;
    return ReceiveResult::kDropped;
  }

  zmq::socket_t socket;
  zmq::message_t frame;  // reused: recv() re-initialises it in place
  std::string endpoint;
  uint64_t dropped = 0;
};

FrontEnd::FrontEnd() = default;
FrontEnd::~FrontEnd() = default;

absl::StatusOr<std::unique_ptr<FrontEnd>> FrontEnd::Bind(IoContext& io,
                                                         const FrontEndOptions& opts) {
  std::unique_ptr<FrontEnd> fe(new FrontEnd());
  try {
    fe->impl_ = std::make_unique<Impl>(*static_cast<zmq::context_t*>(io.native()));
    zmq::socket_t& s = fe->impl_->socket;
    s.set(zmq::sockopt::linger, kLingerMs);
    s.set(zmq::sockopt::maxmsgsize, opts.max_message_bytes);
    s.set(zmq::sockopt::sndhwm, opts.send_hwm);
    s.set(zmq::sockopt::rcvhwm, opts.receive_hwm);
    s.set(zmq::sockopt::router_mandatory, false);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(absl::StrCat("front end socket options: ", e.what()));
  }
  try {
    fe->impl_->socket.bind(opts.endpoint);
  } catch (const zmq::error_t& e) {
    const int err = e.num();
    std::string msg = absl::StrCat("cannot bind front end to '", opts.endpoint, "': ", e.what());
    if (err == EINVAL || err == EPROTONOSUPPORT || err == ENOCOMPATPROTO || err == ENODEV) {
      return absl::InvalidArgumentError(msg);
    }
    return absl::UnavailableError(msg);
  }
  try {
    fe->impl_->endpoint = fe->impl_->socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return absl::InternalError(absl::StrCat("front end ZMQ_LAST_ENDPOINT: ", e.what()));
  }
  return fe;
}

const std::string& FrontEnd::endpoint() const { return impl_->endpoint; }

ReceiveResult FrontEnd::TryReceive(InboundRequest* out) {
  Impl& im = *impl_;
  zmq::message_t& f = im.frame;
  try {
    // Frame 0: the routing id the ROUTER prepends.
    if (!im.socket.recv(f, zmq::recv_flags::dontwait)) return ReceiveResult::kNone;
  } catch (const zmq::error_t&) {
    return ReceiveResult::kNone;  // EINTR or a terminating context: nothing was consumed
  }
  try {
    if (!f.more() || f.size() > sizeof(out->route.id)) return im.Drop();
    out->route.id_size = static_cast<uint8_t>(f.size());
    std::memcpy(out->route.id, f.data(), f.size());

    // Multipart messages arrive atomically, so the remaining parts are already queued.
    if (!im.socket.recv(f, zmq::recv_flags::dontwait)) return im.Drop();
    if (f.empty()) {
      if (!f.more()) return im.Drop();  // [id][empty]: no body
      if (!im.socket.recv(f, zmq::recv_flags::dontwait)) return im.Drop();
      if (f.more()) return im.Drop();  // more than one body frame
      out->route.delimiter = true;
    } else {
      if (f.more()) return im.Drop();  // [id][body][...]
      out->route.delimiter = false;
    }
    out->body.assign(static_cast<const char*>(f.data()), f.size());
    return ReceiveResult::kMessage;
  } catch (const zmq::error_t&) {
    // EINTR or a terminating context mid-message: the parts read are discarded with it.
    return im.Drop();
  }
}

absl::Status FrontEnd::Reply(const ReplyRoute& route, absl::string_view body) {
  zmq::socket_t& s = impl_->socket;
  constexpr auto kMore = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  try {
    if (!s.send(zmq::const_buffer(route.id, route.id_size), kMore)) return Unavailable();
    if (route.delimiter && !s.send(zmq::const_buffer(nullptr, 0), kMore)) return Unavailable();
    if (!s.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::dontwait)) {
      return Unavailable();
    }
  } catch (const zmq::error_t&) {
    return Unavailable();
  }
  return absl::OkStatus();
}

void* FrontEnd::poll_handle() { return impl_->socket.handle(); }

uint64_t FrontEnd::dropped_count() const { return impl_->dropped; }

}  // namespace ordergate::transport
