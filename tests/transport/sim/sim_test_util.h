// Helpers shared by the BridgeSim tests (bridge_sim_test.cc, bridge_sim_fault_test.cc): a
// simulator run in a thread on a loopback port, a raw DEALER, a parsed reply, a temp directory and
// request bodies. Catch2 assertions inside: use them from test cases only.
#pragma once

#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "tests/support/clock.h"
#include "tests/support/temp_dir.h"
#include "transport/sim/bridge_sim.h"

namespace bridge_sim_test {

using ordergate::transport::sim::BridgeSim;
using ordergate::transport::sim::BridgeSimOptions;
using ordergate::transport::sim::FormatIsoBasicUtc;
using ordergate::transport::sim::FormatIsoExtendedUtc;
using ordergate::transport::sim::LatencyModel;
using ordergate::transport::sim::ParseIsoBasicUtc;

inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using ordergate::test_support::ElapsedMs;
using ordergate::test_support::SteadyNow;

// Any checksum of 8+ characters passes: the bridge checks length, not the hash.
inline std::string Sig(int64_t age_ms = 0) {
  return "RISK_PASS:0123456789abcdef:" + FormatIsoBasicUtc(NowUs() - age_ms * 1000);
}

inline std::string OpenBody(const std::string& uuid, const std::string& symbol = "EURUSD",
                            const std::string& extra = "") {
  return R"({"action":"OPEN","uuid":")" + uuid + R"(","symbol":")" + symbol +
         R"(","type":"BUY","volume":0.1,"risk_signature":")" + Sig() + "\"" + extra + "}";
}

inline std::string CloseBody(const std::string& uuid, int64_t ticket) {
  return R"({"action":"CLOSE","uuid":")" + uuid + R"(","ticket":)" + std::to_string(ticket) + "}";
}

// A parsed reply that owns its parser, so fields can be read after the call returns.
class Json {
 public:
  explicit Json(const std::string& text) : text_(text) {
    INFO(text_);
    REQUIRE(parser_.parse(text_).get(doc_) == simdjson::SUCCESS);
    REQUIRE(doc_.is_object());
  }
  bool Has(const char* key) const { return doc_[key].error() == simdjson::SUCCESS; }
  bool IsNull(const char* key) const { return Has(key) && doc_[key].is_null(); }
  std::string S(const char* key) const {
    std::string_view v;
    INFO(text_ << " key " << key);
    REQUIRE(doc_[key].get(v) == simdjson::SUCCESS);
    return std::string(v);
  }
  int64_t I(const char* key) const {
    int64_t v = 0;
    INFO(text_ << " key " << key);
    REQUIRE(doc_[key].get(v) == simdjson::SUCCESS);
    return v;
  }
  double D(const char* key) const {
    INFO(text_ << " key " << key);
    simdjson::dom::element el;
    REQUIRE(doc_[key].get(el) == simdjson::SUCCESS);
    REQUIRE(el.is_number());
    return el.get_double().value();
  }
  simdjson::dom::element El(const char* key) const { return doc_[key].value(); }
  // The object's keys in order, to check a reply carries exactly the protocol's fields.
  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    const simdjson::dom::object obj =
        doc_.get_object().value();  // not a temporary in the range-for
    for (auto field : obj) keys.emplace_back(field.key);
    return keys;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
};

using Keys = std::vector<std::string>;

// Runs a BridgeSim on a kernel-chosen loopback port in a thread for the test's lifetime.
class SimRunner {
 public:
  explicit SimRunner(BridgeSimOptions opts) {
    spdlog::set_level(spdlog::level::warn);
    if (opts.bind == BridgeSimOptions().bind) opts.bind = "tcp://127.0.0.1:*";
    if (!opts.seed) opts.seed = 42;
    auto sim = BridgeSim::Create(opts);
    INFO(sim.status().ToString());
    REQUIRE(sim.ok());
    sim_ = std::move(*sim);
    thread_ = std::thread([this] { sim_->Run(); });
  }
  ~SimRunner() { Shutdown(); }
  void Shutdown() {
    if (!sim_) return;
    sim_->Stop();
    thread_.join();
    sim_.reset();
  }
  BridgeSim& sim() { return *sim_; }
  const std::string& endpoint() const { return sim_->endpoint(); }

 private:
  std::unique_ptr<BridgeSim> sim_;
  std::thread thread_;
};

class Dealer {
 public:
  explicit Dealer(const std::string& endpoint) : sock_(ctx_, zmq::socket_type::dealer) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.connect(endpoint);
  }
  void Send(const std::string& body, bool delimiter = true) {
    if (delimiter) sock_.send(zmq::message_t(), zmq::send_flags::sndmore);
    sock_.send(zmq::buffer(body), zmq::send_flags::none);
  }
  // The body of the next reply, checking the envelope mirrors the request's; nullopt on timeout.
  std::optional<std::string> Recv(int timeout_ms = 3000, bool delimiter = true) {
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) <= 0) return std::nullopt;
    std::vector<zmq::message_t> parts;
    while (true) {
      zmq::message_t m;
      (void)sock_.recv(m, zmq::recv_flags::none);
      const bool more = m.more();
      parts.push_back(std::move(m));
      if (!more) break;
    }
    REQUIRE(parts.size() == (delimiter ? 2u : 1u));
    if (delimiter) REQUIRE(parts[0].size() == 0);
    return parts.back().to_string();
  }
  std::string Call(const std::string& body) {
    Send(body);
    auto r = Recv();
    INFO("request " << body);
    REQUIRE(r.has_value());
    return *r;
  }

 private:
  zmq::context_t ctx_{1};
  zmq::socket_t sock_;
};

// A fresh directory for a simulator's journal (tests/support/temp_dir.h).
class TempDir : public ordergate::test_support::TempDir {
 public:
  TempDir() : ordergate::test_support::TempDir("bridge_sim_test.") {}
};

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

inline void RequireRejected(const std::string& reply, const std::string& code) {
  Json j(reply);
  INFO(reply);
  CHECK(j.Keys() == Keys{"uuid", "status", "error_code", "error_msg", "timestamp"});
  CHECK(j.S("status") == "REJECTED");
  CHECK(j.S("error_code") == code);
}

inline void RequireError(const std::string& reply, const std::string& code) {
  Json j(reply);
  INFO(reply);
  CHECK(j.Keys() == Keys{"uuid", "status", "error_code", "error_msg", "timestamp"});
  CHECK(j.S("status") == "error");
  CHECK(j.S("error_code") == code);
}

}  // namespace bridge_sim_test
