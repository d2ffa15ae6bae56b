// ordergate-bench: drives a running gateway end to end and reports what a strategy sees.
//
// Workload: N DEALER clients, each sending OPEN orders with fresh uuids either open-loop at a
// target rate (each order has an intended send time; latency is measured from it, so a stall shows
// up in the figures instead of silently slowing the sender — no coordinated omission) or
// closed-loop (one outstanding order per client). A share of orders is sent again with the same
// uuid (a retry while in flight, or after the reply) and a share with the same uuid but another
// volume (a conflict). At the end the bridge simulator's execution journal is read: a uuid executed
// twice is a duplicate execution, and the run fails.
//
//   ordergate-bench --endpoint tcp://127.0.0.1:5555 --orders 2000 --rate 500 --clients 4
//                   --retry-ratio 0.3 --journal /tmp/sim-journal.jsonl
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "transport/client.h"
#include "transport/io.h"

namespace {

namespace transport = ordergate::transport;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string journal;
  std::string json_path;
  std::string prefix;
  int64_t orders = 1000;
  double rate = 0;  // orders/s over all clients; 0 = closed loop
  int clients = 2;
  double retry_ratio = 0.3;
  double conflict_ratio = 0.0;
  int64_t timeout_ms = 2000;
  int64_t drain_ms = 8000;
  std::string symbol = "EURUSD";
};

struct Tally {
  std::vector<int64_t> latencies_ns;  // intended send -> first final reply, one per uuid
  uint64_t sent = 0, replies = 0, filled = 0, rejected = 0, pending = 0, unknown = 0, errors = 0;
  uint64_t duplicates = 0, conflicts = 0, other = 0, unanswered = 0;
  std::map<std::string, uint64_t> codes;  // error_code of REJECTED / error replies
};

// One uuid of this client: when it was meant to go out, and whether its outcome is known.
struct OrderState {
  Clock::time_point intended;
  int awaiting = 0;    // submissions sent and not yet answered
  bool final = false;  // FILLED / REJECTED / UNKNOWN / error seen
};

void Usage() {
  std::fputs(
      "ordergate-bench [--endpoint E] [--orders N] [--rate R|0] [--clients C] [--retry-ratio X]\n"
      "                [--conflict-ratio X] [--timeout-ms N] [--journal FILE] [--json FILE]\n"
      "                [--prefix P] [--drain-ms N]\n",
      stderr);
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help") return false;
    if (!next(&v)) return false;
    if (a == "--endpoint") {
      o->endpoint = v;
    } else if (a == "--journal") {
      o->journal = v;
    } else if (a == "--json") {
      o->json_path = v;
    } else if (a == "--prefix") {
      o->prefix = v;
    } else if (a == "--symbol") {
      o->symbol = v;
    } else if (a == "--orders") {
      if (!absl::SimpleAtoi(v, &o->orders) || o->orders < 1) return false;
    } else if (a == "--rate") {
      if (!absl::SimpleAtod(v, &o->rate) || o->rate < 0) return false;
    } else if (a == "--clients") {
      if (!absl::SimpleAtoi(v, &o->clients) || o->clients < 1) return false;
    } else if (a == "--retry-ratio") {
      if (!absl::SimpleAtod(v, &o->retry_ratio) || o->retry_ratio < 0 || o->retry_ratio > 1)
        return false;
    } else if (a == "--conflict-ratio") {
      if (!absl::SimpleAtod(v, &o->conflict_ratio) || o->conflict_ratio < 0 ||
          o->conflict_ratio > 1)
        return false;
    } else if (a == "--timeout-ms") {
      if (!absl::SimpleAtoi(v, &o->timeout_ms) || o->timeout_ms < 1) return false;
    } else if (a == "--drain-ms") {
      if (!absl::SimpleAtoi(v, &o->drain_ms) || o->drain_ms < 0) return false;
    } else {
      return false;
    }
  }
  return true;
}

std::string OpenBody(const std::string& uuid, double volume, int64_t timeout_ms,
                     const std::string& symbol) {
  return absl::StrCat("{\"action\":\"OPEN\",\"uuid\":\"", uuid, "\",\"symbol\":\"", symbol,
                      "\",\"type\":\"BUY\",\"volume\":", volume, ",\"timeout_ms\":", timeout_ms,
                      "}");
}

// One client: its own DEALER, its share of the orders.
void RunClient(const Options& opt, transport::IoContext& io, int index, int64_t count,
               Clock::time_point start, Tally* tally) {
  auto client = transport::OrderClient::Connect(io, opt.endpoint);
  if (!client.ok()) {
    std::fprintf(stderr, "client %d: %s\n", index, std::string(client.status().message()).c_str());
    return;
  }
  std::mt19937_64 rng(static_cast<uint64_t>(index) * 7919 + 17);
  std::uniform_real_distribution<double> coin(0, 1);
  simdjson::dom::parser parser;
  absl::flat_hash_map<std::string, OrderState> orders;
  std::vector<std::pair<Clock::time_point, std::string>> retries_due;  // after-reply retries
  const double per_client_rate = opt.rate > 0 ? opt.rate / opt.clients : 0;
  std::string reply;
  int64_t next_index = 0;

  auto send = [&](const std::string& uuid, double volume) {
    if ((*client)->Send(OpenBody(uuid, volume, opt.timeout_ms, opt.symbol)).ok()) {
      ++orders[uuid].awaiting;
      ++tally->sent;
    }
  };
  auto handle_reply = [&](const std::string& body, Clock::time_point now) {
    ++tally->replies;
    simdjson::dom::element doc;
    if (parser.parse(body).get(doc) != simdjson::SUCCESS) {
      ++tally->other;
      return;
    }
    std::string_view uuid, status, code;
    // Absent members leave the views empty, which the tally treats as "other".
    if (doc["uuid"].get(uuid) != simdjson::SUCCESS) uuid = {};
    if (doc["status"].get(status) != simdjson::SUCCESS) status = {};
    if (doc["error_code"].get(code) != simdjson::SUCCESS) code = {};
    bool dup = false;
    if (doc["duplicate"].get(dup) != simdjson::SUCCESS) dup = false;
    if (dup) ++tally->duplicates;
    bool final = true;
    if (status == "FILLED") {
      ++tally->filled;
    } else if (status == "REJECTED" && code == "IDEMPOTENCY_CONFLICT") {
      ++tally->conflicts;
      final = false;  // the answer to the conflicting copy, not to the order
    } else if (status == "REJECTED") {
      ++tally->rejected;
      ++tally->codes[std::string(code)];
    } else if (status == "PENDING") {
      ++tally->pending;
      final = false;
    } else if (status == "UNKNOWN") {
      ++tally->unknown;
    } else {
      ++tally->errors;
      ++tally->codes[std::string(code)];
    }
    auto it = orders.find(std::string(uuid));
    if (it == orders.end()) return;
    OrderState& o = it->second;
    --o.awaiting;
    if (status == "PENDING" && !o.final) {
      send(std::string(uuid), 0.01);  // what a strategy does with PENDING: ask again, same uuid
      return;
    }
    if (final && !o.final) {
      o.final = true;
      tally->latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - o.intended).count());
    }
  };

  const auto drain_until = [&](Clock::time_point until) {
    while (true) {
      const auto now = Clock::now();
      const int64_t wait_ms = std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count());
      if (!(*client)->Receive(&reply, static_cast<int>(wait_ms)).ok()) return;
      handle_reply(reply, Clock::now());
      if (Clock::now() >= until) return;
    }
  };

  auto all_final = [&] {
    for (const auto& [uuid, o] : orders) {
      if (!o.final) return false;
    }
    return true;
  };
  while (next_index < count || !retries_due.empty()) {
    Clock::time_point intended;
    if (per_client_rate > 0) {
      intended = start + std::chrono::nanoseconds(static_cast<int64_t>(
                             static_cast<double>(next_index) * 1e9 / per_client_rate));
    } else {
      intended = Clock::now();
    }
    if (next_index >= count) intended = Clock::now() + std::chrono::milliseconds(5);
    drain_until(intended);
    const auto now = Clock::now();
    for (auto it = retries_due.begin(); it != retries_due.end();) {
      if (it->first <= now) {
        send(it->second, 0.01);
        it = retries_due.erase(it);
      } else {
        ++it;
      }
    }
    if (next_index >= count) continue;
    const std::string uuid = absl::StrCat(opt.prefix, "c", index, "-", next_index);
    ++next_index;
    orders[uuid].intended = intended;
    send(uuid, 0.01);
    const double r = coin(rng);
    if (r < opt.retry_ratio / 2) {
      send(uuid, 0.01);  // a retry while the original is in flight
    } else if (r < opt.retry_ratio) {
      retries_due.emplace_back(Clock::now() + std::chrono::milliseconds(50), uuid);  // after it
    }
    if (coin(rng) < opt.conflict_ratio) send(uuid, 0.02);
    if (per_client_rate == 0) {
      const auto until = Clock::now() + std::chrono::milliseconds(opt.timeout_ms);
      while (!orders[uuid].final && Clock::now() < until)
        drain_until(Clock::now() + std::chrono::milliseconds(1));
    }
  }
  const auto drain_end = Clock::now() + std::chrono::milliseconds(opt.drain_ms);
  while (Clock::now() < drain_end && !all_final())
    drain_until(Clock::now() + std::chrono::milliseconds(10));
  drain_until(Clock::now() + std::chrono::milliseconds(20));
  for (const auto& [uuid, o] : orders) tally->unanswered += o.final ? 0 : 1;
}

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t idx = std::min(
      sorted.size() - 1,
      static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size()))) - (p > 0 ? 1 : 0));
  return sorted[idx];
}

// Executions per uuid (of this run's prefix) in the simulator's journal.
std::map<std::string, int> ReadJournal(const std::string& path, const std::string& prefix,
                                       bool* ok) {
  std::map<std::string, int> counts;
  std::ifstream in(path);
  *ok = static_cast<bool>(in);
  simdjson::dom::parser parser;
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element doc;
    if (parser.parse(line).get(doc) != simdjson::SUCCESS) continue;
    std::string_view uuid;
    if (doc["uuid"].get(uuid) != simdjson::SUCCESS) continue;
    if (!prefix.empty() && uuid.substr(0, prefix.size()) != prefix) continue;
    ++counts[std::string(uuid)];
  }
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseArgs(argc, argv, &opt)) {
    Usage();
    return 2;
  }
  if (opt.prefix.empty()) {
    opt.prefix = absl::StrCat(
        "b", std::chrono::system_clock::now().time_since_epoch().count() % 1000000000, "-");
  }
  auto io = transport::IoContext::Create(1);
  if (!io.ok()) {
    std::fprintf(stderr, "ordergate-bench: %s\n", std::string(io.status().message()).c_str());
    return 1;
  }
  std::vector<Tally> tallies(opt.clients);
  std::vector<std::thread> threads;
  const auto start = Clock::now() + std::chrono::milliseconds(200);  // let connections settle
  for (int c = 0; c < opt.clients; ++c) {
    const int64_t share = opt.orders / opt.clients + (c < opt.orders % opt.clients ? 1 : 0);
    threads.emplace_back([&, c, share] { RunClient(opt, **io, c, share, start, &tallies[c]); });
  }
  for (auto& t : threads) t.join();
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  io->reset();

  Tally all;
  for (const Tally& t : tallies) {
    all.latencies_ns.insert(all.latencies_ns.end(), t.latencies_ns.begin(), t.latencies_ns.end());
    all.sent += t.sent;
    all.replies += t.replies;
    all.filled += t.filled;
    all.rejected += t.rejected;
    all.pending += t.pending;
    all.unknown += t.unknown;
    all.errors += t.errors;
    all.duplicates += t.duplicates;
    all.conflicts += t.conflicts;
    all.other += t.other;
    all.unanswered += t.unanswered;
    for (const auto& [code, n] : t.codes) all.codes[code] += n;
  }
  std::sort(all.latencies_ns.begin(), all.latencies_ns.end());

  int64_t duplicate_executions = -1;
  int64_t executed = -1;
  if (!opt.journal.empty()) {
    bool ok = false;
    auto counts = ReadJournal(opt.journal, opt.prefix, &ok);
    duplicate_executions = 0;
    executed = 0;
    for (const auto& [uuid, n] : counts) {
      executed += 1;
      if (n > 1) duplicate_executions += n - 1;
    }
  }
  const auto us = [](int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::printf("ordergate-bench: %lld orders, %d clients, %s\n", static_cast<long long>(opt.orders),
              opt.clients,
              opt.rate > 0 ? absl::StrCat("open-loop ", opt.rate, "/s").c_str() : "closed-loop");
  std::printf(
      "  sent %llu (incl. retries/conflicts)  replies %llu  orders without a final outcome %llu\n",
      static_cast<unsigned long long>(all.sent), static_cast<unsigned long long>(all.replies),
      static_cast<unsigned long long>(all.unanswered));
  std::printf(
      "  FILLED %llu  REJECTED %llu  CONFLICT %llu  PENDING %llu  UNKNOWN %llu  error %llu  "
      "duplicate:true %llu\n",
      (unsigned long long)all.filled, (unsigned long long)all.rejected,
      (unsigned long long)all.conflicts, (unsigned long long)all.pending,
      (unsigned long long)all.unknown, (unsigned long long)all.errors,
      (unsigned long long)all.duplicates);
  if (!all.codes.empty()) {
    std::printf("  refusals by code:");
    for (const auto& [code, n] : all.codes)
      std::printf(" %s %llu", code.c_str(), (unsigned long long)n);
    std::printf("\n");
  }
  std::printf(
      "  latency us (from intended send to final outcome): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 "
      "%.1f  max %.1f\n",
      us(Percentile(all.latencies_ns, 0.50)), us(Percentile(all.latencies_ns, 0.90)),
      us(Percentile(all.latencies_ns, 0.99)), us(Percentile(all.latencies_ns, 0.999)),
      all.latencies_ns.empty() ? 0.0 : us(all.latencies_ns.back()));
  std::printf("  throughput %.0f orders/s over %.2f s\n",
              static_cast<double>(all.latencies_ns.size()) / elapsed_s, elapsed_s);
  if (duplicate_executions >= 0) {
    std::printf("  bridge journal: %lld uuids executed, duplicate executions %lld\n",
                static_cast<long long>(executed), static_cast<long long>(duplicate_executions));
  }
  if (!opt.json_path.empty()) {
    std::ofstream js(opt.json_path);
    js << "{\"orders\":" << opt.orders << ",\"sent\":" << all.sent << ",\"replies\":" << all.replies
       << ",\"filled\":" << all.filled << ",\"rejected\":" << all.rejected
       << ",\"conflicts\":" << all.conflicts << ",\"pending\":" << all.pending
       << ",\"unknown\":" << all.unknown << ",\"errors\":" << all.errors
       << ",\"duplicate_replies\":" << all.duplicates << ",\"unanswered\":" << all.unanswered
       << ",\"duplicate_executions\":" << duplicate_executions
       << ",\"p50_us\":" << us(Percentile(all.latencies_ns, 0.5))
       << ",\"p90_us\":" << us(Percentile(all.latencies_ns, 0.9))
       << ",\"p99_us\":" << us(Percentile(all.latencies_ns, 0.99))
       << ",\"p999_us\":" << us(Percentile(all.latencies_ns, 0.999))
       << ",\"throughput\":" << static_cast<double>(all.latencies_ns.size()) / elapsed_s << "}\n";
  }
  if (duplicate_executions > 0) {
    std::fprintf(stderr, "ordergate-bench: DUPLICATE EXECUTIONS at the bridge: %lld\n",
                 static_cast<long long>(duplicate_executions));
    return 3;
  }
  return 0;
}
