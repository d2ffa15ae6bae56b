// cpp_client_strategy: a strategy process that trades through a running ordergated with the public
// C++ client (include/ordergate/client.h) only; built by CMake and run by the tests
// (tests/transport/public_client_test.cc, tests/consumer/run.sh) so that it cannot rot.
//
//   cpp_client_strategy --gateway tcp://127.0.0.1:5555 --orders 20 [--prefix s1] [--threads 2]
//
// Submits N orders (OPEN EURUSD BUY 0.01) from T threads at once, all in flight together: with
// --prefix P the uuids are P-0 ... P-(N-1) (a strategy that restarts with the same prefix gets each
// order's recorded outcome back, never a second execution), without it the client makes a UUIDv4
// for each. Half the orders go through futures, half through callbacks. Then it submits each uuid
// once more, as a strategy's retry would: the gateway replays the outcome (duplicate = true, the
// same ticket). An UNKNOWN outcome is never resubmitted under a new uuid: the strategy asks
// Status(uuid) instead. One JSON line per outcome on stdout, e.g.
//   {"uuid":"s1-0","status":"FILLED","ticket":1001,"duplicate":false}
//
// Exit status: 0 when every order has a final outcome and every replay matches it; 1 otherwise
// (stderr says which); 2 for a bad command line.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ordergate/client.h"

namespace {

constexpr char kUsage[] =
    "usage: cpp_client_strategy --gateway ENDPOINT --orders N [--prefix P] [--threads T]\n";

struct Flags {
  std::string gateway;
  int orders = 0;
  std::string prefix;  // empty: UUIDv4s from the client
  int threads = 2;
};

bool Parse(int argc, char** argv, Flags* f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--gateway") {
      f->gateway = value;
    } else if (flag == "--orders") {
      f->orders = std::atoi(value.c_str());
    } else if (flag == "--prefix") {
      f->prefix = value;
    } else if (flag == "--threads") {
      f->threads = std::atoi(value.c_str());
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && !f->gateway.empty() && f->orders >= 1 && f->orders <= 100000 &&
         f->threads >= 1 && f->threads <= 64;
}

ordergate::Order MakeOrder(const std::string& uuid) {
  ordergate::Order o;
  o.uuid = uuid;  // empty: the client makes a UUIDv4 (the outcome names it)
  o.action = ordergate::OrderAction::kOpen;
  o.symbol = "EURUSD";
  o.type = ordergate::TradeType::kBuy;
  o.volume = 0.01;
  return o;
}

std::string Line(const ordergate::Outcome& out) {
  std::string line = "{\"uuid\":\"" + out.uuid + "\",\"status\":\"" +
                     ordergate::OutcomeStatusName(out.status) +
                     "\",\"ticket\":" + std::to_string(out.ticket) +
                     ",\"duplicate\":" + (out.duplicate ? "true" : "false");
  if (!out.error_code.empty()) line += ",\"error_code\":\"" + out.error_code + "\"";
  return line + "}\n";
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!Parse(argc, argv, &flags)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  ordergate::ClientOptions options;
  options.endpoint = flags.gateway;
  auto connected = ordergate::Client::Connect(options);
  if (!connected.ok()) {
    std::fprintf(stderr, "cpp_client_strategy: %s\n",
                 std::string(connected.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<ordergate::Client> client = std::move(*connected);

  std::mutex mu;  // guards outcomes and stdout
  std::vector<ordergate::Outcome> outcomes(static_cast<size_t>(flags.orders));
  auto record = [&](int i, const ordergate::Outcome& out) {
    std::lock_guard<std::mutex> lock(mu);
    outcomes[static_cast<size_t>(i)] = out;
    std::fputs(Line(out).c_str(), stdout);
  };

  // Every order in flight at once: futures from the even indexes, callbacks from the odd ones.
  std::atomic<int> callbacks_left{0};
  std::promise<void> callbacks_done;
  std::vector<std::future<ordergate::Outcome>> futures(static_cast<size_t>(flags.orders));
  for (int i = 1; i < flags.orders; i += 2) callbacks_left.fetch_add(1);
  if (callbacks_left.load() == 0) callbacks_done.set_value();
  std::vector<std::thread> threads;
  for (int t = 0; t < flags.threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < flags.orders; i += flags.threads) {
        const std::string uuid = flags.prefix.empty() ? "" : flags.prefix + "-" + std::to_string(i);
        if (i % 2 == 0) {
          futures[static_cast<size_t>(i)] = client->Submit(MakeOrder(uuid));
        } else {
          // On the client's I/O thread: only record, never block.
          client->Submit(MakeOrder(uuid), [&, i](const ordergate::Outcome& out) {
            record(i, out);
            if (callbacks_left.fetch_sub(1) == 1) callbacks_done.set_value();
          });
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < flags.orders; i += 2) record(i, futures[static_cast<size_t>(i)].get());
  callbacks_done.get_future().wait();

  // The strategy's retry: the same uuid, never a new one. FILLED and REJECTED replay; UNKNOWN is
  // asked about instead of resent.
  int bad = 0;
  for (int i = 0; i < flags.orders; ++i) {
    const ordergate::Outcome first = outcomes[static_cast<size_t>(i)];
    if (first.status == ordergate::OutcomeStatus::kUnknown) {
      auto now = client->Status(first.uuid);
      std::fprintf(stderr, "cpp_client_strategy: %s is UNKNOWN (%s); Status: %s\n",
                   first.uuid.c_str(), first.error_code.c_str(),
                   !now.ok()           ? std::string(now.status().message()).c_str()
                   : !now->has_value() ? "no record"
                                       : ordergate::OutcomeStatusName((*now)->status));
      ++bad;
      continue;
    }
    const ordergate::Outcome again = client->SubmitAndWait(MakeOrder(first.uuid));
    std::fputs(Line(again).c_str(), stdout);
    if (first.status != ordergate::OutcomeStatus::kFilled || again.status != first.status ||
        again.ticket != first.ticket || !again.duplicate) {
      std::fprintf(stderr, "cpp_client_strategy: %s: %s ticket %lld, replayed as %s ticket %lld\n",
                   first.uuid.c_str(), ordergate::OutcomeStatusName(first.status),
                   static_cast<long long>(first.ticket), ordergate::OutcomeStatusName(again.status),
                   static_cast<long long>(again.ticket));
      ++bad;
    }
  }
  const ordergate::ClientStats s = client->stats();
  std::fprintf(stderr,
               "cpp_client_strategy: %d orders, %d not FILLED and replayed; sends %llu, "
               "pending %llu, reconnects %llu\n",
               flags.orders, bad, static_cast<unsigned long long>(s.sends),
               static_cast<unsigned long long>(s.pending_replies),
               static_cast<unsigned long long>(s.reconnects));
  client->Close();
  return bad == 0 ? 0 : 1;
}
