// FrontEnd: the ROUTER strategies connect to (REQ or DEALER clients), as in section 2 of the
// contract.
//
//   FrontEndOptions opts; opts.endpoint = "tcp://127.0.0.1:*";
//   auto fe = FrontEnd::Bind(*io, opts);          // start-up
//   InboundRequest req;
//   while ((*fe)->TryReceive(&req) == ReceiveResult::kMessage) {
//     (*fe)->Reply(req.route, "{...}");
//   }
//
// Framing: a client frame sequence arrives as [routing id][empty][body] (REQ, and DEALER clients
// that send the empty delimiter as the contract says) or [routing id][body] (a DEALER without it).
// The reply mirrors what came: with the delimiter iff the request had it. Anything else (no body,
// more than one body frame) is dropped and counted: the contract cannot answer it. ZMQ_MAXMSGSIZE
// is set to max_message_bytes: a peer sending a larger frame is disconnected by libzmq; bodies
// between max_request_bytes and it are delivered so the gateway can answer OVERSIZE. Thread-safety:
// none; one thread owns a FrontEnd. zmq::error_t never escapes.
#ifndef ORDERGATE_TRANSPORT_FRONT_END_H_
#define ORDERGATE_TRANSPORT_FRONT_END_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/io.h"

namespace ordergate::transport {

struct FrontEndOptions {
  std::string endpoint = "tcp://127.0.0.1:5555";
  int64_t max_message_bytes = 1 << 20;  // ZMQ_MAXMSGSIZE
  int send_hwm = 100000;
  int receive_hwm = 100000;
};

// Where a reply goes. Fixed-size (no allocation): routing ids are at most 255 bytes.
struct ReplyRoute {
  uint8_t id_size = 0;
  bool delimiter = true;
  char id[255] = {};
};

struct InboundRequest {
  ReplyRoute route;
  std::string body;  // reused across calls: capacity is kept, so steady state allocates nothing
};

enum class ReceiveResult : uint8_t { kMessage, kNone, kDropped };

class FrontEnd {
 public:
  // Binds. kInvalidArgument/kUnavailable (with message) when the endpoint cannot be bound.
  static absl::StatusOr<std::unique_ptr<FrontEnd>> Bind(IoContext& io, const FrontEndOptions& opts);
  ~FrontEnd();

  // The endpoint actually bound (resolves "tcp://127.0.0.1:*" to its port).
  const std::string& endpoint() const;

  // Non-blocking. kMessage: *out holds one request. kNone: nothing queued. kDropped: one malformed
  // frame sequence was consumed and counted in dropped_count().
  ReceiveResult TryReceive(InboundRequest* out);

  // Non-blocking. A reply to a peer that has gone is silently discarded by the ROUTER and still
  // returns OK; so is one to a peer at send_hwm (ZMQ_ROUTER_MANDATORY is off, so libzmq drops
  // rather than refuses). kUnavailable (code-only) only when the socket itself fails (context
  // terminating).
  absl::Status Reply(const ReplyRoute& route, absl::string_view body);

  void* poll_handle();
  uint64_t dropped_count() const;

 private:
  FrontEnd();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_FRONT_END_H_
