// ZapHandler: the ZeroMQ authentication handler (ZAP, https://rfc.zeromq.org/spec/27/) of one
// IoContext.
//
//   auto zap = ZapHandler::Bind(io);                // start-up, before any socket that uses ZAP
//   binds
//   // on its owner thread, when zap->poll_handle() is readable:
//   while ((*zap)->ServiceOne([](const ZapRequest& r) { return ZapVerdict{200, "OK", ""}; })) {}
//
// libzmq asks the handler bound at inproc://zeromq.zap.01 of a context about every connection that
// completes a security handshake on a socket with ZMQ_ZAP_DOMAIN set (NULL mechanism), or on a
// CURVE/PLAIN server; the connection proceeds only on status 200. There is one such handler per
// context: Bind() fails with kAlreadyExists when the context has one. The handler is policy-free:
// the caller decides per request (today the front end's connection cap; CURVE key checks can be
// another domain's decision later). Thread-safety: none; one thread owns a ZapHandler (it may be
// created on one thread and handed to another before first use, as a thread's start orders it).
// zmq::error_t never escapes.
#ifndef ORDERGATE_TRANSPORT_ZAP_HANDLER_H_
#define ORDERGATE_TRANSPORT_ZAP_HANDLER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "transport/io.h"

namespace ordergate::transport {

// One ZAP request, as libzmq sends it.
struct ZapRequest {
  std::string domain;                    // the socket's ZMQ_ZAP_DOMAIN
  std::string address;                   // the peer's IP address, without port
  std::string mechanism;                 // "NULL", "PLAIN" or "CURVE"
  std::vector<std::string> credentials;  // none for NULL, the client key for CURVE
};

// The answer: 200 admits; 300 (temporary), 400 (denied) and 500 (internal) refuse the connection
// (libzmq sends the peer a ZMTP ERROR; a libzmq 4.3 client then stops reconnecting that socket).
struct ZapVerdict {
  int status_code = 400;
  std::string status_text;
  std::string user_id;  // attached to the peer's messages as "User-Id"
};

class ZapHandler {
 public:
  // Binds a REP socket at inproc://zeromq.zap.01. Blocks up to 0.5 s when a handler of the same
  // context was closed a moment ago (libzmq frees inproc names asynchronously). kAlreadyExists when
  // the context still has a handler then; kInternal (with message) on other libzmq failures.
  static absl::StatusOr<std::unique_ptr<ZapHandler>> Bind(IoContext& io);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Readable when a request is queued.
  void* poll_handle();

  // Non-blocking. Reads at most one queued request, calls decide(request) and sends its verdict.
  // A malformed request (wrong version, too few frames) is answered 500 without calling decide.
  // Returns true when a request was consumed, false when none was queued or the socket failed
  // (context terminating).
  bool ServiceOne(const std::function<ZapVerdict(const ZapRequest&)>& decide);

 private:
  ZapHandler();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_ZAP_HANDLER_H_
