// Shared helpers for the ZeroMQ transport tests: bounded waits that block in zmq_poll, never spin.
#ifndef ORDERGATE_TESTS_TRANSPORT_ZMQ_TEST_UTIL_H_
#define ORDERGATE_TESTS_TRANSPORT_ZMQ_TEST_UTIL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "transport/io.h"

namespace ordergate::transport::testing {

inline zmq::context_t& Ctx(IoContext& io) { return *static_cast<zmq::context_t*>(io.native()); }

inline std::unique_ptr<IoContext> MakeIo() {
  auto io = IoContext::Create();
  if (!io.ok()) return nullptr;
  return std::move(io).value();
}

// Calls `step` (which may block briefly in a poll) until `done` holds or timeout_ms passes.
inline bool WaitFor(const std::function<bool()>& done, const std::function<void()>& step,
                    int timeout_ms = 5000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    step();
  }
  return true;
}

inline std::string ToString(const zmq::message_t& m) {
  return std::string(static_cast<const char*>(m.data()), m.size());
}

}  // namespace ordergate::transport::testing

#endif  // ORDERGATE_TESTS_TRANSPORT_ZMQ_TEST_UTIL_H_
