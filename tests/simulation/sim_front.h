// The simulation's front end: a transport::RequestPort the gateway reads wire requests from and
// answers through, as it would a ZeroMQ ROUTER (section 2 of the protocol: timeout_ms, PENDING,
// ORDER_STATUS). Requests are queued by the world (after their network delay); replies go to the
// world's `deliver`, keyed by the request's id, carried in the route.
#ifndef ORDERGATE_TESTS_SIMULATION_SIM_FRONT_H_
#define ORDERGATE_TESTS_SIMULATION_SIM_FRONT_H_

#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <utility>

#include "transport/front_end.h"

namespace ordergate::sim {

class SimFrontPort final : public transport::RequestPort {
 public:
  explicit SimFrontPort(std::function<void(uint64_t id, std::string body)> deliver)
      : deliver_(std::move(deliver)) {}

  // `identity`: the client's authenticated name, as the ZeroMQ front end reads it from CURVE.
  void Push(uint64_t id, std::string body, std::string identity = {}) {
    queued_.push_back({id, std::move(body), std::move(identity)});
  }

  transport::ReceiveResult TryReceive(transport::InboundRequest* out) override {
    if (queued_.empty()) return transport::ReceiveResult::kNone;
    out->route = transport::ReplyRoute{};
    out->route.id_size = sizeof(uint64_t);
    std::memcpy(out->route.id, &queued_.front().id, sizeof(uint64_t));
    out->body = std::move(queued_.front().body);
    out->identity = std::move(queued_.front().identity);
    queued_.pop_front();
    return transport::ReceiveResult::kMessage;
  }

  absl::Status Reply(const transport::ReplyRoute& route, absl::string_view body) override {
    uint64_t id = 0;
    if (route.id_size == sizeof(uint64_t)) std::memcpy(&id, route.id, sizeof(uint64_t));
    deliver_(id, std::string(body));
    return absl::OkStatus();
  }

 private:
  std::function<void(uint64_t, std::string)> deliver_;
  struct Queued {
    uint64_t id;
    std::string body;
    std::string identity;
  };
  std::deque<Queued> queued_;
};

}  // namespace ordergate::sim

#endif  // ORDERGATE_TESTS_SIMULATION_SIM_FRONT_H_
