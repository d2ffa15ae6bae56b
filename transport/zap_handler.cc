#include "transport/zap_handler.h"

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ordergate::transport {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr char kZapVersion[] = "1.0";
// version, request id, domain, address, identity, mechanism; then the mechanism's credentials.
constexpr size_t kZapFixedFrames = 6;
constexpr int kBindRetryMs = 10;
constexpr int kBindWaitMs = 500;

}  // namespace

struct ZapHandler::Impl {
  explicit Impl(zmq::context_t& ctx) : socket(ctx, zmq::socket_type::rep) {}
  zmq::socket_t socket;
  zmq::message_t frame;
  std::vector<std::string> frames;  // reused across requests
};

ZapHandler::ZapHandler() = default;
ZapHandler::~ZapHandler() = default;

absl::StatusOr<std::unique_ptr<ZapHandler>> ZapHandler::Bind(IoContext& io) {
  std::unique_ptr<ZapHandler> zap(new ZapHandler());
  try {
    zap->impl_ = std::make_unique<Impl>(*static_cast<zmq::context_t*>(io.native()));
    zap->impl_->socket.set(zmq::sockopt::linger, 0);
  } catch (const zmq::error_t& e) {
    return absl::InternalError(absl::StrCat("ZAP handler socket: ", e.what()));
  }
  // libzmq releases a closed socket's inproc names on its reaper thread, a moment after
  // zmq_close(): a handler closed just before (a FrontEnd destroyed and bound again) may still hold
  // the name. Wait for that, boundedly.
  for (int attempt = 0;; ++attempt) {
    try {
      zap->impl_->socket.bind(kZapEndpoint);
      return zap;
    } catch (const zmq::error_t& e) {
      if (e.num() != EADDRINUSE) {
        return absl::InternalError(absl::StrCat("cannot bind ", kZapEndpoint, ": ", e.what()));
      }
      if (attempt * kBindRetryMs >= kBindWaitMs) {
        return absl::AlreadyExistsError(
            absl::StrCat("this context already has a ZAP handler at ", kZapEndpoint));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kBindRetryMs));
  }
}

void* ZapHandler::poll_handle() { return impl_->socket.handle(); }

bool ZapHandler::ServiceOne(const std::function<ZapVerdict(const ZapRequest&)>& decide) {
  Impl& im = *impl_;
  im.frames.clear();
  try {
    if (!im.socket.recv(im.frame, zmq::recv_flags::dontwait)) return false;
    im.frames.emplace_back(static_cast<const char*>(im.frame.data()), im.frame.size());
    // The rest of a multipart message is queued with its first part.
    while (im.frame.more()) {
      if (!im.socket.recv(im.frame, zmq::recv_flags::dontwait)) return false;
      im.frames.emplace_back(static_cast<const char*>(im.frame.data()), im.frame.size());
    }
  } catch (const zmq::error_t&) {
    return false;
  }
  ZapVerdict verdict;
  const std::string request_id = im.frames.size() > 1 ? im.frames[1] : std::string();
  if (im.frames.size() < kZapFixedFrames || im.frames[0] != kZapVersion) {
    verdict.status_code = 500;
    verdict.status_text = "malformed ZAP request";
  } else {
    ZapRequest req;
    req.domain = im.frames[2];
    req.address = im.frames[3];
    req.mechanism = im.frames[5];
    req.credentials.assign(im.frames.begin() + kZapFixedFrames, im.frames.end());
    verdict = decide(req);
  }
  const std::string code = std::to_string(verdict.status_code);
  constexpr auto kMore = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  try {
    // A REP socket answers the request it just read; libzmq's side never blocks it.
    (void)im.socket.send(zmq::buffer(std::string_view(kZapVersion)), kMore);
    (void)im.socket.send(zmq::buffer(request_id), kMore);
    (void)im.socket.send(zmq::buffer(code), kMore);
    (void)im.socket.send(zmq::buffer(verdict.status_text), kMore);
    (void)im.socket.send(zmq::buffer(verdict.user_id), kMore);
    (void)im.socket.send(zmq::const_buffer(nullptr, 0), zmq::send_flags::dontwait);  // metadata
  } catch (const zmq::error_t&) {
    return false;
  }
  return true;
}

}  // namespace ordergate::transport
