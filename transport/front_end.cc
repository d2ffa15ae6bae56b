#include "transport/front_end.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <utility>
#include <zmq.hpp>

#include "absl/strings/str_cat.h"
#include "transport/connection_guard.h"
#include "transport/curve_cert.h"

namespace ordergate::transport {
namespace {

constexpr int kLingerMs = 1000;
// The ZAP domain of the front end's ROUTER (the connection cap's requests carry it).
constexpr char kZapDomain[] = "ordergate-front";
// At most one warning a second about requests dropped from revoked clients.
constexpr int64_t kRevokedReportIntervalMs = 1000;

using KeySet = std::set<std::string, std::less<>>;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::Status CheckOptions(const FrontEndOptions& o) {
  const auto range = [](const char* name, int64_t v, int64_t lo, int64_t hi) -> absl::Status {
    if (v >= lo && v <= hi) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("front end ", name, " ", v, " is outside [", lo, ", ", hi, "]"));
  };
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  for (const absl::Status& s :
       {range("send_hwm", o.send_hwm, 1, 1'000'000),
        range("receive_hwm", o.receive_hwm, 1, 1'000'000),
        range("sndbuf_bytes", o.sndbuf_bytes, 4096, 64 << 20),
        range("rcvbuf_bytes", o.rcvbuf_bytes, 4096, 64 << 20),
        range("max_connections", o.max_connections, 1, 1'000'000),
        range("descriptor_reserve", o.descriptor_reserve, 64, 1'000'000),
        range("handshake_timeout_ms", o.handshake_timeout_ms, 100, 600'000),
        range("heartbeat_ivl_ms", o.heartbeat_ivl_ms, 0, 3'600'000),
        range("heartbeat_timeout_ms", o.heartbeat_timeout_ms, 0, kIntMax)}) {
    if (!s.ok()) return s;
  }
  if (o.heartbeat_ivl_ms > 0 && o.heartbeat_timeout_ms < o.heartbeat_ivl_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("front end heartbeat_timeout_ms ", o.heartbeat_timeout_ms,
                     " must be at least heartbeat_ivl_ms ", o.heartbeat_ivl_ms));
  }
  return absl::OkStatus();
}

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
    dropped.fetch_add(1, std::memory_order_relaxed);
    return ReceiveResult::kDropped;
  }

  // Reads one message (kMessage, kNone or kDropped as TryReceive). *revoked: a request of a revoked
  // connection was read whole; its identity and key are in *name and *key.
  ReceiveResult ReceiveOne(InboundRequest* out, bool* revoked, absl::string_view* name,
                           absl::string_view* key);

  // Owner thread: picks up the revoked keys a ReplaceCurveClients published.
  void RefreshRevoked() {
    std::lock_guard<std::mutex> lock(curve_mu);
    revoked_in_use = revoked_published;
    revoked_seen = revoked_generation.load(std::memory_order_relaxed);
  }

  // Owner thread: counts one request of a revoked connection and reports (rate-limited).
  void NoteRevoked(absl::string_view name, absl::string_view key) {
    const uint64_t total = revoked_requests.fetch_add(1, std::memory_order_relaxed) + 1;
    ++revoked_unreported;
    if (!on_auth_refusals) return;
    const int64_t now_ms = SteadyMs();
    if (revoked_reported_ms != 0 && now_ms - revoked_reported_ms < kRevokedReportIntervalMs) {
      return;
    }
    on_auth_refusals(absl::StrCat(
        "front end dropped ", revoked_unreported,
        " request(s) from revoked client(s) since the last report (", total,
        " in all); the last from \"", name, "\" (key ", key,
        ", no longer in the allowlist): nothing it sends is read, its connection stays open until "
        "it closes it"));
    revoked_unreported = 0;
    revoked_reported_ms = now_ms;
  }

  // Destroyed in reverse: the guard (its thread joined, the monitor stopped) before the ROUTER.
  zmq::socket_t socket;
  std::unique_ptr<ConnectionGuard> guard;
  zmq::message_t frame;  // reused: recv() re-initialises it in place
  std::string endpoint;
  int max_connections = 0;
  // Written by the owner thread only; atomics so that stats() may be read from another.
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> replies_dropped_full{0};
  std::atomic<uint64_t> replies_dropped_gone{0};
  std::atomic<uint64_t> revoked_requests{0};

  // CURVE allowlist replacement. Under curve_mu (ReplaceCurveClients, any thread): the list in
  // force, every key allowlisted since Bind, and the revoked ones (the difference; null when
  // none) published with a generation the owner thread compares per request.
  bool curve = false;
  std::function<void(absl::string_view)> on_auth_refusals;
  std::mutex curve_mu;
  std::map<std::string, std::string> curve_clients;
  KeySet ever_allowlisted;
  std::shared_ptr<const KeySet> revoked_published;
  std::atomic<uint64_t> revoked_generation{0};
  // The owner thread's copy.
  uint64_t revoked_seen = 0;
  std::shared_ptr<const KeySet> revoked_in_use;
  uint64_t revoked_unreported = 0;
  int64_t revoked_reported_ms = 0;
};

FrontEnd::FrontEnd() = default;
FrontEnd::~FrontEnd() = default;

absl::StatusOr<std::unique_ptr<FrontEnd>> FrontEnd::Bind(IoContext& io,
                                                         const FrontEndOptions& opts) {
  if (absl::Status valid = CheckOptions(opts); !valid.ok()) return valid;
  // Descriptors: as many as the hard limit allows, then the cap leaves descriptor_reserve of them
  // to everything else.
  auto limit = RaiseDescriptorLimit();
  if (!limit.ok()) return limit.status();
  const uint64_t reserve = static_cast<uint64_t>(opts.descriptor_reserve);
  if (limit->soft <= reserve) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the descriptor limit (RLIMIT_NOFILE ", limit->soft, ", hard ", limit->hard,
        ") leaves no descriptor for a client beyond the ", reserve,
        " kept for the bridge link, the store and the HTTP endpoint; raise it (ulimit -n, "
        "LimitNOFILE=) to at least ",
        reserve + static_cast<uint64_t>(opts.max_connections)));
  }
  const int max_connections = static_cast<int>(
      std::min<uint64_t>(static_cast<uint64_t>(opts.max_connections), limit->soft - reserve));

  std::unique_ptr<FrontEnd> fe(new FrontEnd());
  try {
    fe->impl_ = std::make_unique<Impl>(*static_cast<zmq::context_t*>(io.native()));
    zmq::socket_t& s = fe->impl_->socket;
    s.set(zmq::sockopt::linger, kLingerMs);
    s.set(zmq::sockopt::maxmsgsize, opts.max_message_bytes);
    s.set(zmq::sockopt::sndhwm, opts.send_hwm);
    s.set(zmq::sockopt::rcvhwm, opts.receive_hwm);
    s.set(zmq::sockopt::sndbuf, opts.sndbuf_bytes);
    s.set(zmq::sockopt::rcvbuf, opts.rcvbuf_bytes);
    s.set(zmq::sockopt::handshake_ivl, opts.handshake_timeout_ms);
    s.set(zmq::sockopt::heartbeat_ivl, opts.heartbeat_ivl_ms);
    s.set(zmq::sockopt::heartbeat_timeout, opts.heartbeat_timeout_ms);
    // Refuse rather than drop silently, so that Reply() can count what it drops.
    s.set(zmq::sockopt::router_mandatory, true);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(absl::StrCat("front end socket options: ", e.what()));
  }
  if (!opts.curve_secret_key.empty()) {
    if (!IsCurveKey(opts.curve_secret_key)) {
      return absl::InvalidArgumentError("front end curve_secret_key is not 40 characters of Z85");
    }
    try {
      fe->impl_->socket.set(zmq::sockopt::curve_server, true);
      fe->impl_->socket.set(zmq::sockopt::curve_secretkey, opts.curve_secret_key);
    } catch (const zmq::error_t& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("front end CURVE (libzmq built without libsodium?): ", e.what()));
    }
  }
  fe->impl_->max_connections = max_connections;
  fe->impl_->curve = !opts.curve_secret_key.empty();
  fe->impl_->on_auth_refusals = opts.on_auth_refusals;
  if (fe->impl_->curve) {
    fe->impl_->curve_clients = opts.curve_clients;
    for (const auto& entry : opts.curve_clients) fe->impl_->ever_allowlisted.insert(entry.first);
  }
  ConnectionGuardOptions gopts;
  gopts.max_connections = max_connections;
  gopts.zap_domain = kZapDomain;
  gopts.curve = !opts.curve_secret_key.empty();
  gopts.curve_clients = opts.curve_clients;
  gopts.on_refusals = opts.on_auth_refusals;
  auto guard = ConnectionGuard::Start(io, fe->impl_->socket.handle(), std::move(gopts));
  if (!guard.ok()) return guard.status();
  fe->impl_->guard = std::move(*guard);
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
  for (int skipped = 0; skipped < kMaxRevokedPerReceive; ++skipped) {
    bool revoked = false;
    absl::string_view name;
    absl::string_view key;
    const ReceiveResult r = im.ReceiveOne(out, &revoked, &name, &key);
    if (!revoked) return r;
    im.NoteRevoked(name, key);
  }
  return ReceiveResult::kNone;
}

ReceiveResult FrontEnd::Impl::ReceiveOne(InboundRequest* out, bool* revoked,
                                         absl::string_view* name, absl::string_view* key) {
  Impl& im = *this;
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
    // The body frame came from the peer's connection and carries its metadata (the routing-id
    // frame is the ROUTER's own and does not). Without CURVE there is no User-Id: "".
    // With CURVE it is CurveUserId(name, key) (connection_guard.h).
    const char* user_id = zmq_msg_gets(f.handle(), "User-Id");
    if (user_id == nullptr) {
      out->identity.clear();
      return ReceiveResult::kMessage;
    }
    const auto [who, with_key] = SplitCurveUserId(user_id);
    if (im.revoked_generation.load(std::memory_order_acquire) != im.revoked_seen) {
      im.RefreshRevoked();
    }
    if (im.revoked_in_use != nullptr && im.revoked_in_use->contains(with_key)) {
      *revoked = true;
      *name = who;  // points into the metadata of `frame`, valid until the next recv
      *key = with_key;
      return ReceiveResult::kNone;
    }
    out->identity.assign(who.data(), who.size());
    return ReceiveResult::kMessage;
  } catch (const zmq::error_t&) {
    // EINTR or a terminating context mid-message: the parts read are discarded with it.
    return im.Drop();
  }
}

absl::Status FrontEnd::Reply(const ReplyRoute& route, absl::string_view body) {
  Impl& im = *impl_;
  zmq::socket_t& s = im.socket;
  constexpr auto kMore = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  // With ZMQ_ROUTER_MANDATORY the routing-id frame is where the ROUTER refuses: EAGAIN (an empty
  // result) when the peer's queue is at send_hwm, EHOSTUNREACH when the peer is gone. Nothing of
  // the message is queued then. Once it is accepted, the other frames are too.
  try {
    if (!s.send(zmq::const_buffer(route.id, route.id_size), kMore)) {
      im.replies_dropped_full.fetch_add(1, std::memory_order_relaxed);
      return absl::OkStatus();
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) {
      im.replies_dropped_gone.fetch_add(1, std::memory_order_relaxed);
      return absl::OkStatus();
    }
    return Unavailable();
  }
  try {
    if (route.delimiter && !s.send(zmq::const_buffer(nullptr, 0), kMore)) return Unavailable();
    if (!s.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::dontwait)) {
      return Unavailable();
    }
  } catch (const zmq::error_t&) {
    return Unavailable();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> FrontEnd::ReplaceCurveClients(
    std::map<std::string, std::string> clients) {
  Impl& im = *impl_;
  if (!im.curve) {
    return absl::FailedPreconditionError("the front end has no CURVE: there is no allowlist");
  }
  for (const auto& [key, name] : clients) {
    if (!IsCurveKey(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the allowlisted key of \"", name, "\" is not 40 characters of Z85"));
    }
  }
  std::lock_guard<std::mutex> lock(im.curve_mu);
  // The filter first, then the handshakes: a connection admitted under a removed key a moment
  // before the guard's swap is caught by the filter all the same (it matches keys, not times).
  auto revoked = std::make_shared<KeySet>();
  for (const auto& entry : clients) im.ever_allowlisted.insert(entry.first);
  for (const std::string& key : im.ever_allowlisted) {
    if (!clients.contains(key)) revoked->insert(key);
  }
  im.revoked_published = revoked->empty() ? nullptr : std::move(revoked);
  im.revoked_generation.fetch_add(1, std::memory_order_release);
  if (absl::Status swapped = im.guard->ReplaceClients(clients); !swapped.ok()) return swapped;
  return std::exchange(im.curve_clients, std::move(clients));
}

void* FrontEnd::poll_handle() { return impl_->socket.handle(); }

uint64_t FrontEnd::dropped_count() const { return impl_->dropped.load(std::memory_order_relaxed); }

int FrontEnd::max_connections() const { return impl_->max_connections; }

FrontEndStats FrontEnd::stats() const {
  const Impl& im = *impl_;
  const ConnectionGuardStats g = im.guard->stats();
  FrontEndStats s;
  s.connections_open = g.connections_open;
  s.connections_admitted = g.connections_admitted;
  s.connections_refused = g.refused;
  s.accept_failures = g.accept_failures;
  s.handshake_failures = g.handshake_failures;
  s.replies_dropped_full = im.replies_dropped_full.load(std::memory_order_relaxed);
  s.replies_dropped_gone = im.replies_dropped_gone.load(std::memory_order_relaxed);
  s.requests_dropped = im.dropped.load(std::memory_order_relaxed);
  s.curve_unknown_key = g.curve_unknown_key;
  s.curve_handshake_failed = g.curve_handshake_failed;
  s.curve_revoked_requests = im.revoked_requests.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ordergate::transport
