// OrderClient: a DEALER strategy-side client of the front end, for the demo, the benchmark harness
// and tests. It speaks the contract's framing ([empty][json]) and may have many requests
// outstanding.
//
//   auto c = OrderClient::Connect(*io, "tcp://127.0.0.1:5555");
//   (*c)->Send(R"({"action":"OPEN","uuid":"a1",...})");
//   std::string reply;
//   absl::Status s = (*c)->Receive(&reply, /*timeout_ms=*/2000);   // kDeadlineExceeded on timeout
//
// Thread-safety: none; one thread per client.
#ifndef ORDERGATE_TRANSPORT_CLIENT_H_
#define ORDERGATE_TRANSPORT_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/io.h"

namespace ordergate::transport {

class OrderClient {
 public:
  // kInvalidArgument (with message) for a malformed endpoint. Connects in the background.
  static absl::StatusOr<std::unique_ptr<OrderClient>> Connect(IoContext& io,
                                                              const std::string& endpoint);
  ~OrderClient();

  // Non-blocking unless the queue is full, then blocks up to 1 s. kUnavailable when it could not
  // send.
  absl::Status Send(absl::string_view body);
  // Blocks up to timeout_ms for one reply body. kDeadlineExceeded when none came.
  absl::Status Receive(std::string* body, int timeout_ms);
  void* poll_handle();

 private:
  OrderClient();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_CLIENT_H_
