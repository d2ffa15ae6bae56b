// ordergate-client-bench: what ordergate::Client (include/ordergate/client.h) costs beside a bare
// DEALER, against the same running ordergated, in the same run: rounds alternate the two modes, so
// both see the same gateway, bridge and machine state.
//
//   ordergate-client-bench --gateway tcp://127.0.0.1:5555 --orders 20000 --window 64 --rounds 3
//
// Each mode sends --orders OPENs (fresh uuids, the same body shape with timeout_ms) in a closed
// loop with --window requests outstanding, then --orders / 10 one at a time (window 1). Per mode:
// throughput, latency p50/p99 (submit to outcome, on the caller's side) and the benchmark
// process's CPU time per order (getrusage: the bare mode's one thread; the client's caller thread
// plus its I/O thread and libzmq's). The bare DEALER does only what a strategy must at least do:
// write the body, read the reply, find its uuid; no PENDING/UNKNOWN handling, no timers.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "ordergate/client.h"

namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Result {
  double seconds = 0;
  double cpu_seconds = 0;
  std::vector<double> latency_us;
  int failed = 0;
};

std::string Body(const std::string& uuid, int64_t timeout_ms) {
  return "{\"action\":\"OPEN\",\"uuid\":\"" + uuid +
         "\",\"symbol\":\"EURUSD\",\"type\":\"BUY\",\"volume\":0.01,\"price\":0,\"sl\":0,"
         "\"tp\":0,\"timeout_ms\":" +
         std::to_string(timeout_ms) + "}";
}

std::string_view UuidOf(std::string_view reply) {
  const size_t at = reply.find("\"uuid\":\"");
  if (at == std::string_view::npos) return {};
  const size_t from = at + 8;
  const size_t to = reply.find('"', from);
  return to == std::string_view::npos ? std::string_view() : reply.substr(from, to - from);
}

Result Bare(zmq::context_t& ctx, const std::string& endpoint, const std::string& prefix, int n,
            int window, int64_t timeout_ms) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::rcvtimeo, 10000);
  s.connect(endpoint);
  Result r;
  std::unordered_map<std::string, Clock::time_point> sent_at;
  const double cpu0 = CpuSeconds();
  const Clock::time_point t0 = Clock::now();
  int next = 0;
  int done = 0;
  zmq::message_t f;
  while (done < n) {
    while (next < n && next - done < window) {
      const std::string uuid = prefix + std::to_string(next++);
      const std::string body = Body(uuid, timeout_ms);
      sent_at.emplace(uuid, Clock::now());
      (void)s.send(zmq::const_buffer(nullptr, 0), zmq::send_flags::sndmore);
      (void)s.send(zmq::buffer(body), zmq::send_flags::none);
    }
    if (!s.recv(f)) {
      r.failed += n - done;
      break;
    }
    if (f.empty() && f.more()) (void)s.recv(f);
    const std::string_view reply(static_cast<const char*>(f.data()), f.size());
    auto it = sent_at.find(std::string(UuidOf(reply)));
    if (it == sent_at.end()) continue;
    if (reply.find("\"FILLED\"") == std::string_view::npos) ++r.failed;
    r.latency_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - it->second).count());
    sent_at.erase(it);
    ++done;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.cpu_seconds = CpuSeconds() - cpu0;
  return r;
}

Result WithClient(ordergate::Client& c, const std::string& prefix, int n, int window) {
  Result r;
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  int done = 0;
  r.latency_us.reserve(static_cast<size_t>(n));
  const double cpu0 = CpuSeconds();
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return outstanding < window; });
      ++outstanding;
    }
    ordergate::Order o;
    o.uuid = prefix + std::to_string(i);
    o.symbol = "EURUSD";
    o.volume = 0.01;
    const Clock::time_point start = Clock::now();
    c.Submit(o, [&, start](const ordergate::Outcome& out) {
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
      std::lock_guard<std::mutex> lock(mu);
      r.latency_us.push_back(us);
      if (out.status != ordergate::OutcomeStatus::kFilled) ++r.failed;
      --outstanding;
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == n; });
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.cpu_seconds = CpuSeconds() - cpu0;
  return r;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void Print(const char* mode, int window, const Result& r) {
  const double n = static_cast<double>(r.latency_us.size());
  std::printf(
      "%-7s window %-3d %8.0f orders/s  p50 %7.1f us  p99 %7.1f us  CPU %6.2f us/order"
      "  failed %d\n",
      mode, window, n / r.seconds, Percentile(r.latency_us, 0.50), Percentile(r.latency_us, 0.99),
      r.cpu_seconds * 1e6 / std::max(n, 1.0), r.failed);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string gateway;
  int orders = 20000;
  int window = 64;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--gateway") gateway = argv[i + 1];
    if (flag == "--orders") orders = std::atoi(argv[i + 1]);
    if (flag == "--window") window = std::atoi(argv[i + 1]);
    if (flag == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  if (gateway.empty() || orders < 10 || window < 1 || rounds < 1) {
    std::fprintf(stderr,
                 "usage: ordergate-client-bench --gateway ENDPOINT [--orders N] [--window W] "
                 "[--rounds R]\n");
    return 2;
  }
  ordergate::ClientOptions opts;
  opts.endpoint = gateway;
  auto c = ordergate::Client::Connect(opts);
  if (!c.ok()) {
    std::fprintf(stderr, "ordergate-client-bench: %s\n", std::string(c.status().message()).c_str());
    return 1;
  }
  const int64_t timeout_ms = (*c)->request_timeout_ms();
  zmq::context_t ctx(1);
  const std::string run = ordergate::Client::NewUuid().substr(0, 8);
  for (int round = 0; round < rounds; ++round) {
    const std::string p = "b" + run + "-" + std::to_string(round) + "-";
    Print("bare", window, Bare(ctx, gateway, p + "bw-", orders, window, timeout_ms));
    Print("client", window, WithClient(**c, p + "cw-", orders, window));
    Print("bare", 1, Bare(ctx, gateway, p + "b1-", orders / 10, 1, timeout_ms));
    Print("client", 1, WithClient(**c, p + "c1-", orders / 10, 1));
  }
  const ordergate::ClientStats s = (*c)->stats();
  std::printf("client: sends %llu for %llu orders, pending %llu, not-now retries %llu\n",
              static_cast<unsigned long long>(s.sends),
              static_cast<unsigned long long>(s.submitted),
              static_cast<unsigned long long>(s.pending_replies),
              static_cast<unsigned long long>(s.not_now_retries));
  return 0;
}
