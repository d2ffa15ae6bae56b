#include "transport/bridge_link.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <zmq.hpp>

#include "absl/strings/str_cat.h"
#include "transport/bridge_correlator.h"

namespace ordergate::transport {
namespace {

absl::Status Unavailable() { return absl::Status(absl::StatusCode::kUnavailable, ""); }

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::atomic<uint64_t> g_monitor_seq{0};

}  // namespace

// The socket half; the bookkeeping half (which request a reply answers, deadlines) is the
// BridgeCorrelator, shared with the deterministic simulation's port.
struct BridgeLink::Impl {
  Impl(zmq::context_t& ctx, const BridgeLinkOptions& o)
      : opts(o),
        correlator(o.late_reply_window_ms * 1'000'000),
        dealer(ctx, zmq::socket_type::dealer),
        monitor(ctx, zmq::socket_type::pair) {}

  ~Impl() {
    // Stop the monitor before closing the sockets it reports on; errors here have no one to go to.
    zmq_socket_monitor(dealer.handle(), nullptr, 0);
    monitor.close();
    dealer.close();
  }

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
          up = false;
          correlator.OnDisconnected();
        }
      }
    } catch (const zmq::error_t&) {
      // EINTR: the rest is read on the next call.
    }
  }

  // Reads one [empty][body] message into `frame`. False when nothing is queued; *valid is false for
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
    }
    return true;
  }

  void DrainReplies(std::vector<BridgeEvent>* out) {
    try {
      bool valid = false;
      while (ReadReply(&valid)) {
        if (!valid) {
          correlator.OnUnreadableReply();
          continue;
        }
        correlator.OnReply(absl::string_view(static_cast<const char*>(frame.data()), frame.size()),
                           out);
      }
    } catch (const zmq::error_t&) {
      // EINTR: the rest is read on the next Poll.
    }
  }

  BridgeLinkOptions opts;
  BridgeCorrelator correlator;
  zmq::socket_t dealer;
  zmq::socket_t monitor;
  zmq::message_t frame;  // reused for every receive
  bool up = false;
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
  im.correlator.OnSent(token, uuid, deadline_ns, SteadyNowNs());
  return absl::OkStatus();
}

void BridgeLink::Forget(uint64_t token) { impl_->correlator.Forget(token); }

void BridgeLink::Poll(int64_t now_ns, std::vector<BridgeEvent>* out) {
  Impl& im = *impl_;
  // Connection events first: a reply read from a new connection must not be matched to a request
  // orphaned by a DISCONNECTED that is already queued.
  im.DrainMonitor();
  im.DrainReplies(out);
  im.correlator.FireDeadlines(now_ns, out);
}

int64_t BridgeLink::NextDeadlineNs() const { return impl_->correlator.NextDeadlineNs(); }

bool BridgeLink::IsCorrelated(uint64_t token) const {
  return impl_->correlator.IsCorrelated(token);
}

size_t BridgeLink::outstanding() const { return impl_->correlator.outstanding(); }

size_t BridgeLink::unanswered() const { return impl_->correlator.unanswered(); }

void* BridgeLink::poll_handle() { return impl_->dealer.handle(); }

void* BridgeLink::monitor_handle() { return impl_->monitor.handle(); }

BridgeLinkStats BridgeLink::stats() const { return impl_->correlator.stats(); }

}  // namespace ordergate::transport
