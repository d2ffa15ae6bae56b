// World (sim_world.h): the clients. Half use the in-process door (EmbeddedSink), half speak the
// wire through the simulated front end, with their own receive timeout (timeout_ms), so PENDING,
// joins under a deadline and ORDER_STATUS are exercised. Every client keeps a few uuids in
// progress, retries them (never a new uuid for an order whose outcome it does not know), sends a
// conflicting body now and then, gives up on some, and re-sends orders it saw settle. Half the wire
// clients are CURVE clients with names of their own that send the same uuids as each other: the
// gateway must keep them apart (two orders, each executed at most once, each client seeing only
// its own), and the checker judges them by "name/uuid", their executions found under their
// bridge uuids.
#include <simdjson.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sim_world.h"
#include "transport/codec.h"

namespace ordergate::sim {
namespace {

constexpr int kWindow = 4;                        // uuids a client keeps in progress
constexpr int64_t kEmbeddedPatienceUs = 3000000;  // then: was the gateway it waits on lost?

uint64_t Fnv(uint64_t h, std::string_view s) {
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

SeenReply Parse(char kind, std::string_view raw) {
  SeenReply r;
  r.kind = kind;
  r.raw = std::string(raw);
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(r.raw).get(obj) == simdjson::SUCCESS) {
    std::string_view sv;
    if (obj["status"].get(sv) == simdjson::SUCCESS) r.status = std::string(sv);
    if (obj["error_code"].get(sv) == simdjson::SUCCESS) r.code = std::string(sv);
    int64_t t = 0;
    if (obj["ticket"].get(t) == simdjson::SUCCESS) r.ticket = t;
    bool dup = false;
    if (obj["duplicate"].get(dup) == simdjson::SUCCESS) r.duplicate = dup;
  }
  return r;
}

}  // namespace

void World::Resolved(absl::string_view uuid, absl::string_view reply_object) {
  (void)uuid;
  (void)reply_object;
}

void World::Deliver(uint64_t id, absl::string_view reply_object, bool duplicate, bool recorded,
                    int64_t gateway_us) {
  (void)gateway_us;
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  const Submission s = it->second;
  pending_.erase(it);
  SeenReply r = Parse(s.kind == 'l' ? 'o' : s.kind,
                      std::string_view(reply_object.data(), reply_object.size()));
  r.duplicate = duplicate;
  r.recorded = recorded;
  Record(s, std::move(r));
}

void World::OnWireReply(uint64_t id, std::string body) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // the client stopped waiting: the reply is dropped
  const Submission s = it->second;
  pending_.erase(it);
  SeenReply r = Parse(s.kind == 'l' ? 'o' : s.kind, body);
  r.wire = true;
  // The wire says nothing of "recorded": a refusal of ordergate's records nothing, PENDING and a
  // conflict say nothing of the outcome; the rest is the store's.
  r.recorded = check::RecordedOnTheWire(r.status, r.code);
  Record(s, std::move(r));
}

void World::Record(const Submission& s, SeenReply r) {
  r.at_us = core_.now_us();
  if (!r.recorded && r.kind != 'q') ++res_.refusals[r.status + "/" + r.code];
  hash_ = Fnv(Fnv(hash_, s.uuid), r.raw.substr(0, r.raw.find("\"timestamp\"")));
  if (!opt_.keep_raw_replies) {
    // Long runs keep what the checker reads, not every reply's bytes (a week is millions).
    r.raw = absl::StrCat(r.status, r.code.empty() ? "" : " ", r.code,
                         r.ticket != 0 ? absl::StrCat(" ticket ", r.ticket) : "");
  }
  orders_[s.uuid].replies.push_back(r);
  React(s, r);
}

void World::React(const Submission& s, const SeenReply& r) {
  if (s.kind == 'l') {
    // A fresh order after the faults: a strategy retries what the gateway refused without
    // recording (GATEWAY_BUSY while the bridge's measured capacity recovers) or left in flight.
    const bool settled = r.recorded && (r.status == "FILLED" || r.status == "REJECTED");
    if (settled) {
      --liveness_open_;
    } else {
      core_.After(50000, [this, s] {
        if (s.wire) {
          SubmitWire(-1, s.uuid, orders_[s.uuid].volume, 'l');
        } else {
          Submit(-1, s.uuid, orders_[s.uuid].volume, 'l');
        }
      });
    }
    return;
  }
  if (s.kind == 'r' || s.client < 0) return;
  Progress& p = progress_[s.uuid];
  if (r.recorded) p.recorded = true;
  if (s.kind == 'c' || p.done) return;
  const bool terminal = r.recorded && (r.status == "FILLED" || r.status == "REJECTED");
  if (terminal) {
    p.done = true;
    Leave(s.client, s.uuid);
    auto& done = clients_[static_cast<size_t>(s.client)].done;
    if (done.size() >= 16) done.erase(done.begin());
    done.push_back(s.uuid);
  } else if (r.status == "UNKNOWN" || r.status == "PENDING") {
    // Never a new uuid for it: ask about the same one later (the order again, or ORDER_STATUS on
    // the wire), a few times, then give up on it.
    if (++p.tries > 6) {
      Leave(s.client, s.uuid);
    } else {
      const bool ask = s.wire && core_.Chance(0.5);
      Retry(s.client, s.uuid,
            r.status == "PENDING" ? core_.Uniform(10000, 500000) : core_.Uniform(300000, 3000000),
            ask ? 'q' : 'o');
    }
  } else if (s.kind == 'q' && r.code == "NOT_FOUND") {
    Retry(s.client, s.uuid, core_.Uniform(1000, 100000));  // never recorded: send it again
  } else if (++p.tries > 8) {
    Leave(s.client, s.uuid);  // refused again and again: the strategy gives up on it
  } else {
    Retry(s.client, s.uuid, core_.Uniform(5000, 200000));  // a refusal that records nothing
  }
}

void World::Leave(int c, const std::string& uuid) {
  auto& w = clients_[static_cast<size_t>(c)].window;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == uuid) {
      w.erase(w.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

void World::Retry(int c, const std::string& uuid, int64_t after_us, char kind) {
  core_.After(after_us, [this, c, uuid, kind] {
    if (!clients_on_ || progress_[uuid].done) return;
    if (clients_[static_cast<size_t>(c)].wire) {
      SubmitWire(c, uuid, orders_[uuid].volume, kind);
    } else {
      Submit(c, uuid, orders_[uuid].volume, 'o');
    }
  });
}

void World::ExpectReply(uint64_t id, int64_t within_us) {
  core_.After(within_us, [this, id, within_us] {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    const Submission s = it->second;
    if (!s.wire && s.incarnation == incarnation_ && gw_ != nullptr) {
      ExpectReply(id, within_us);  // an in-process call to a live gateway always ends: wait on
      return;
    }
    pending_.erase(it);  // lost with a crashed gateway, or on the network: the client moves on
    ++res_.lost_replies;
    if (s.kind == 'o') ++orders_[s.uuid].unanswered;
    if ((s.kind == 'o' || s.kind == 'q') && s.client >= 0 && clients_on_)
      Retry(s.client, s.uuid, 1);
  });
}

void World::Submit(int c, const std::string& uuid, double volume, char kind) {
  OrderHistory& h = orders_[uuid];
  if (kind != 'c') ++h.submissions;
  ++res_.submissions;
  const std::string body =
      absl::StrCat("{\"action\":\"OPEN\",\"uuid\":\"", uuid,
                   "\",\"symbol\":\"EURUSD\",\"type\":\"BUY\",\"volume\":", volume, "}");
  gateway::EmbeddedSubmission s;
  DecodeLimits limits;
  if (DecodeRequest(body, limits, core_.clock.UnixUs(), &s.request) != ErrorCode::kOk) {
    res_.violations.push_back(uuid + ": the simulation built a request the decoder refuses");
    return;
  }
  s.id = next_id_++;
  s.received_ns = core_.clock.SteadyNs();
  if (gw_ == nullptr || !gw_->SubmitEmbedded(s)) {
    // The gateway is down: the client tries again shortly (nothing was received).
    if (kind == 'o' && c >= 0) Retry(c, uuid, core_.Uniform(20000, 200000));
    return;
  }
  pending_[s.id] = Submission{c, uuid, kind, false, incarnation_};
  Wake();
  ExpectReply(s.id, kEmbeddedPatienceUs);
}

void World::SubmitWire(int c, const std::string& label, double volume, char kind) {
  OrderHistory& h = orders_[label];
  // "identity/uuid" for a named client's order ('/' is outside the uuid charset).
  const size_t slash = label.find('/');
  const std::string identity = slash == std::string::npos ? std::string() : label.substr(0, slash);
  const std::string uuid = slash == std::string::npos ? label : label.substr(slash + 1);
  if (kind != 'c' && kind != 'q') ++h.submissions;
  ++res_.submissions;
  const int64_t timeout_ms = core_.Uniform(300, 2500);  // some below the bridge's deadline
  const std::string body =
      kind == 'q' ? absl::StrCat("{\"action\":\"ORDER_STATUS\",\"uuid\":\"", uuid, "\"}")
                  : absl::StrCat("{\"action\":\"OPEN\",\"uuid\":\"", uuid,
                                 "\",\"symbol\":\"EURUSD\",\"type\":\"BUY\",\"volume\":", volume,
                                 ",\"timeout_ms\":", timeout_ms, "}");
  const uint64_t id = next_id_++;
  pending_[id] = Submission{c, label, kind, true, incarnation_};
  const bool lost = faults_on_ && core_.Chance(0.002);
  if (!lost) {
    // In order per client (one connection), as the replies.
    int64_t& last = to_gateway_at_us_[c];
    last = std::max(core_.now_us() + core_.Uniform(20, 400), last);
    core_.At(last, [this, id, body, identity] {
      auto it = pending_.find(id);
      if (it == pending_.end() || front_ == nullptr) return;  // nobody listening: lost
      it->second.incarnation = incarnation_;
      front_->Push(id, body, identity);
      Wake();
    });
  }
  ExpectReply(id, (timeout_ms + 1000) * 1000);
}

void World::ClientAct(int c) {
  if (!clients_on_) return;
  Client& cl = clients_[static_cast<size_t>(c)];
  auto send = [this, &cl, c](const std::string& uuid, double volume, char kind) {
    if (cl.wire) {
      SubmitWire(c, uuid, volume, kind);
    } else {
      Submit(c, uuid, volume, kind);
    }
  };
  if (!cl.done.empty() && core_.Chance(0.1)) {
    // A strategy that replays its own log after a restart: an order it saw settle is sent again
    // (or asked about) and must be answered the same, from the store, without reaching the bridge.
    const std::string uuid =
        cl.done[static_cast<size_t>(core_.Uniform(0, static_cast<int64_t>(cl.done.size()) - 1))];
    send(uuid, orders_[uuid].volume, cl.wire && core_.Chance(0.5) ? 'q' : 'o');
  } else if (static_cast<int>(cl.window.size()) < kWindow) {
    char buf[48];
    if (cl.identity.empty()) {
      std::snprintf(buf, sizeof buf, "c%d-%06" PRIu64, c, cl.next_n++);
    } else {
      std::snprintf(buf, sizeof buf, "w-%06" PRIu64, cl.next_n++);  // the same as the other's
    }
    const std::string uuid = cl.identity.empty() ? std::string(buf) : cl.identity + "/" + buf;
    const double volume = static_cast<double>(core_.Uniform(1, 100)) / 100.0;
    orders_[uuid].volume = volume;
    cl.window.push_back(uuid);
    send(uuid, volume, 'o');
  } else {
    const std::string uuid = cl.window[static_cast<size_t>(
        core_.Uniform(0, static_cast<int64_t>(cl.window.size()) - 1))];
    if (progress_[uuid].recorded && core_.Chance(0.2)) {
      send(uuid, orders_[uuid].volume + 0.5, 'c');  // the same uuid, another order: refused
    } else if (core_.Chance(0.3)) {
      send(uuid, orders_[uuid].volume, 'o');  // an impatient retry: joins or replays
    } else if (cl.wire && core_.Chance(0.2)) {
      send(uuid, 0, 'q');
    } else if (core_.Chance(0.05)) {
      Leave(c, uuid);  // gives up on it (its history is still checked)
    }
  }
  core_.After(core_.Uniform(1, 2 * opt_.client_pause_us), [this, c] { ClientAct(c); });
}

}  // namespace ordergate::sim
