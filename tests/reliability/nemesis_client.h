// The nemesis run's clients (see nemesis_test.cc): threads that submit orders under their own
// uuids, retry, resend, send conflicting bodies and query, and record every reply for the checker.
#pragma once

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nemesis_common.h"

namespace nemesis {

struct OrderState {
  std::string uuid;
  double volume = 0;
  int sends = 0;
  int replies = 0;
  std::deque<int64_t> outstanding;  // send times of OPENs not answered yet (FIFO)
  bool lost_any = false;            // a send went unanswered past kLostAfterMs
  bool only_refusals = true;        // every reply so far was GATEWAY_BUSY/BRIDGE_DOWN/STORE_...
  bool store_refused = false;       // STORE_UNAVAILABLE with every send answered, only refusals
  bool terminal = false;
  bool unknown = false;
  bool abandoned = false;  // STORE_UNAVAILABLE: never sent again
  bool active = false;     // holds a window slot
  bool resend_scheduled = false;
  int followups = 0;
};

// Counters the nemesis reads while clients run.
// An outcome a client was told (FILLED or a recorded REJECTED): the data-dir damage fault resends
// such orders right after the damaged gateway starts.
struct Acknowledged {
  std::string uuid;
  double volume = 0;
  std::string status, code;
  int64_t ticket = 0;
};

struct Live {
  std::atomic<int64_t> last_fresh_fill_ms{-1};  // FILLED duplicate:false: a store write succeeded
  std::atomic<int64_t> store_unavailable{0};
  std::atomic<int64_t> replies{0};

  static constexpr size_t kAcknowledgedKept = 4000;
  void Acknowledge(Acknowledged a) {
    std::lock_guard<std::mutex> l(ack_mu);
    acknowledged.push_back(std::move(a));
    if (acknowledged.size() > kAcknowledgedKept) acknowledged.pop_front();
  }
  // Up to `n` of the acknowledged outcomes, spread over all those kept (old and new).
  std::vector<Acknowledged> SampleAcknowledged(size_t n) {
    std::lock_guard<std::mutex> l(ack_mu);
    std::vector<Acknowledged> out;
    const size_t step = std::max<size_t>(1, acknowledged.size() / std::max<size_t>(1, n));
    for (size_t i = 0; i < acknowledged.size() && out.size() < n; i += step) {
      out.push_back(acknowledged[i]);
    }
    return out;
  }
  std::mutex ack_mu;
  std::deque<Acknowledged> acknowledged;  // oldest first
};

// With several gateways (the shared guard's run) a client has a home gateway (its id modulo their
// number) for its new orders, and sends a retry, a conflicting body or a query to either: a
// strategy that fails over, and a retry that joins an order another gateway has in flight.
class Client {
 public:
  Client(int id, uint64_t seed, zmq::context_t& ctx, std::vector<std::string> endpoints, Live& live)
      : id_(id), rng_(seed), ctx_(ctx), endpoints_(std::move(endpoints)), live_(live) {}

  void Run(const std::atomic<bool>& stop_new, const std::atomic<bool>& stop_all) {
    std::vector<std::unique_ptr<DealerClient>> orders_to, conflicts_to, queries_to;
    for (const std::string& e : endpoints_) {
      orders_to.push_back(std::make_unique<DealerClient>(ctx_, e));
      conflicts_to.push_back(std::make_unique<DealerClient>(ctx_, e));
      queries_to.push_back(std::make_unique<DealerClient>(ctx_, e));
    }
    const size_t home = static_cast<size_t>(id_) % endpoints_.size();
    // One gateway: no draw, so a seed replays the single-gateway schedule as it always did.
    auto pick = [&](size_t preferred) {
      if (endpoints_.size() == 1) return size_t{0};
      return P(0.4) ? static_cast<size_t>(U(0, static_cast<int64_t>(endpoints_.size()) - 1))
                    : preferred;
    };
    next_new_ms_ = NowMs();
    while (!stop_all.load()) {
      const int64_t now = NowMs();
      if (!stop_new.load() && active_ < kWindow && now >= next_new_ms_) {
        NewOrder(*orders_to[home], now);
        next_new_ms_ = std::max(next_new_ms_, now + U(0, 25));
      }
      while (!schedule_.empty() && schedule_.begin()->first <= now) {
        auto [due, action] = *schedule_.begin();
        schedule_.erase(schedule_.begin());
        OrderState& o = orders_[action.second];
        if (action.first == 'o') {
          o.resend_scheduled = false;
          if (!o.abandoned) SendOpen(*orders_to[pick(home)], o, now);
        } else if (action.first == 'c') {
          conflicts_to[pick(home)]->Send(OpenBody(o.uuid, o.volume + 0.5, Extra()));
          ++conflicts_sent;
        } else {
          queries_to[pick(home)]->Send(StatusBody(o.uuid));
          ++queries_sent;
        }
      }
      for (size_t e = 0; e < endpoints_.size(); ++e) {
        for (int i = 0; i < 64; ++i) {
          // The first wait paces the loop (3 ms in all, whatever the number of gateways).
          const bool wait = i == 0 && e == 0;
          auto r = orders_to[e]->RecvJson(Ms(wait ? 3 : 0));
          if (!r) break;
          OnOrderReply(*r);
        }
        for (auto* s : {conflicts_to[e].get(), queries_to[e].get()}) {
          for (int i = 0; i < 64; ++i) {
            auto r = s->RecvJson(Ms(0));
            if (!r) break;
            replies.push_back(ToRec(*r, s == conflicts_to[e].get() ? 'c' : 'q'));
            live_.replies.fetch_add(1);
          }
        }
      }
      CheckLost(now);
    }
  }

  // Results, read after the thread joined.
  std::vector<OrderState> orders_;
  std::vector<ReplyRec> replies;
  std::vector<int64_t> latency_us;
  int64_t sends = 0, conflicts_sent = 0, queries_sent = 0, lost_sends = 0;

 private:
  int64_t U(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  bool P(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  static std::string Extra() { return "\"timeout_ms\":" + std::to_string(kClientTimeoutMs); }

  void Schedule(int64_t at, char what, size_t idx) {
    schedule_.emplace(at, std::make_pair(what, idx));
  }

  void NewOrder(DealerClient& sock, int64_t now) {
    OrderState o;
    o.uuid = "n" + std::to_string(g_opt.seed) + "-c" + std::to_string(id_) + "-" +
             std::to_string(orders_.size());
    o.volume = static_cast<double>(U(1, 50)) / 100.0;
    o.active = true;
    ++active_;
    by_uuid_[o.uuid] = orders_.size();
    orders_.push_back(o);
    const size_t idx = orders_.size() - 1;
    SendOpen(sock, orders_[idx], now);
    // A strategy that retries while the first send is still in flight.
    if (P(0.12)) {
      orders_[idx].resend_scheduled = true;
      Schedule(now + U(0, 120), 'o', idx);
    }
  }

  void SendOpen(DealerClient& sock, OrderState& o, int64_t now) {
    sock.Send(OpenBody(o.uuid, o.volume, Extra()));
    o.outstanding.push_back(now);
    ++o.sends;
    ++sends;
  }

  void Release(OrderState& o) {
    if (!o.active) return;
    o.active = false;
    --active_;
  }

  void Resend(size_t idx, int64_t at) {
    OrderState& o = orders_[idx];
    if (o.abandoned || o.resend_scheduled) return;
    o.resend_scheduled = true;
    Schedule(at, 'o', idx);
  }

  void FollowUps(size_t idx, int64_t now) {
    OrderState& o = orders_[idx];
    if (o.followups >= 3) return;
    ++o.followups;
    if (P(0.25)) Resend(idx, now + U(20, 800));  // a retry after the reply
    if (P(0.08)) Schedule(now + U(0, 400), 'c', idx);
    if (P(0.15)) Schedule(now + U(0, 600), 'q', idx);
  }

  void OnOrderReply(const Json& j) {
    const int64_t now = NowMs();
    ReplyRec rec = ToRec(j, 'o');
    live_.replies.fetch_add(1);
    auto it = by_uuid_.find(rec.uuid);
    if (it == by_uuid_.end()) {
      replies.push_back(std::move(rec));
      return;
    }
    const size_t idx = it->second;
    OrderState& o = orders_[idx];
    ++o.replies;
    if (!o.outstanding.empty()) {
      latency_us.push_back((now - o.outstanding.front()) * 1000);
      o.outstanding.pop_front();
    }
    const std::string& s = rec.status;
    const std::string& c = rec.code;
    if (s == "FILLED" && rec.duplicate == false) live_.last_fresh_fill_ms.store(now);
    if (!NotRecordedRefusal(s, c)) o.only_refusals = false;
    if (s == "error" && c == "STORE_UNAVAILABLE") {
      live_.store_unavailable.fetch_add(1);
      // The contract: nothing recorded, nothing sent. This client does not send it again.
      if (o.only_refusals && !o.lost_any && o.outstanding.empty() && !o.terminal && !o.unknown) {
        o.store_refused = true;
      }
      o.abandoned = true;
      Release(o);
      next_new_ms_ = now + U(50, 300);  // a strategy backs off when ordergate cannot write
    } else if (Terminal(s, c)) {
      const bool first = !o.terminal;
      o.terminal = true;
      if (first) live_.Acknowledge(Acknowledged{o.uuid, o.volume, s, c, rec.ticket});
      Release(o);
      if (first || o.followups < 3) FollowUps(idx, now);
    } else if (s == "UNKNOWN") {
      o.unknown = true;
      Release(o);
      // Never a new uuid: ask again later with the same one, and query.
      if (o.followups < 3) {
        ++o.followups;
        Resend(idx, now + U(300, 1500));
        Schedule(now + U(300, 1500), 'q', idx);
      }
    } else if (s == "PENDING") {
      if (o.outstanding.empty()) Resend(idx, now + U(0, 150));
    } else if (NotRecordedRefusal(s, c)) {
      if (o.outstanding.empty() && !o.terminal && !o.unknown) Resend(idx, now + U(20, 250));
    } else {
      Release(o);  // anything else is judged by the checker
    }
    replies.push_back(std::move(rec));
  }

  void CheckLost(int64_t now) {
    if (now - last_lost_scan_ms_ < 50) return;
    last_lost_scan_ms_ = now;
    for (size_t idx = first_live_; idx < orders_.size(); ++idx) {
      OrderState& o = orders_[idx];
      while (!o.outstanding.empty() && now - o.outstanding.front() > kLostAfterMs) {
        o.outstanding.pop_front();
        o.lost_any = true;
        ++lost_sends;
        if (!o.terminal && !o.unknown && !o.abandoned) Resend(idx, now + U(0, 200));
      }
    }
    while (first_live_ < orders_.size() && orders_[first_live_].outstanding.empty() &&
           !orders_[first_live_].active && !orders_[first_live_].resend_scheduled) {
      ++first_live_;
    }
  }

  int id_;
  std::mt19937_64 rng_;
  zmq::context_t& ctx_;
  std::vector<std::string> endpoints_;
  Live& live_;
  int active_ = 0;
  int64_t next_new_ms_ = 0;
  size_t first_live_ = 0;
  int64_t last_lost_scan_ms_ = 0;
  std::map<std::string, size_t> by_uuid_;
  std::multimap<int64_t, std::pair<char, size_t>> schedule_;
};

// Client threads; stopped and joined on destruction (also when a REQUIRE unwinds).
class Fleet {
 public:
  Fleet(zmq::context_t& ctx, const std::vector<std::string>& endpoints, int n, uint64_t seed,
        Live& live) {
    for (int i = 0; i < n; ++i) {
      clients_.push_back(std::make_unique<Client>(i, seed * 1000003 + static_cast<uint64_t>(i), ctx,
                                                  endpoints, live));
    }
    for (auto& c : clients_) {
      Client* cp = c.get();
      threads_.emplace_back([this, cp] { cp->Run(stop_new_, stop_all_); });
    }
  }
  ~Fleet() { Join(); }
  void StopNew() { stop_new_.store(true); }
  void Join() {
    stop_new_.store(true);
    stop_all_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::vector<std::unique_ptr<Client>>& clients() { return clients_; }

 private:
  std::atomic<bool> stop_new_{false};
  std::atomic<bool> stop_all_{false};
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::thread> threads_;
};

}  // namespace nemesis
