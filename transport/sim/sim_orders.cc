// One request of the simulator: envelope and field validation, the signature check, the order's
// draws (fault, latency), OPEN and CLOSE, the queries (ACCOUNT, POSITIONS, ORDER_STATUS) and the
// replies the faults give instead of the real one. See sim_impl.h for how the files divide.
#include <fcntl.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "transport/sim/bridge_sim.h"
#include "transport/sim/sim_impl.h"
#include "transport/sim/sim_json.h"

namespace ordergate::transport::sim {
namespace internal {

std::string UpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool IsOrderType(std::string_view t) {
  return t == "BUY" || t == "SELL" || t == "BUY_LIMIT" || t == "SELL_LIMIT" || t == "BUY_STOP" ||
         t == "SELL_STOP";
}

// A JSON number of any representation as double.
bool GetNumber(simdjson::dom::element el, double* out) {
  switch (el.type()) {
    case simdjson::dom::element_type::DOUBLE:
      *out = el.get_double().value_unsafe();
      return true;
    case simdjson::dom::element_type::INT64:
      *out = static_cast<double>(el.get_int64().value_unsafe());
      return true;
    case simdjson::dom::element_type::UINT64:
      *out = static_cast<double>(el.get_uint64().value_unsafe());
      return true;
    default:
      return false;
  }
}

bool GetString(simdjson::dom::object obj, std::string_view key, std::string_view* out) {
  simdjson::dom::element el;
  if (obj.at_key(key).get(el) != simdjson::SUCCESS) return false;
  return el.get_string().get(*out) == simdjson::SUCCESS;
}

}  // namespace internal

namespace {

using internal::AppendEscaped;
using internal::Fault;
using internal::GetNumber;
using internal::GetString;
using internal::IsOrderType;
using internal::kZ99;
using internal::NowUnixUs;
using internal::ObjectWriter;
using internal::OrderDraw;
using internal::ParseIsoAnyUtc;
using internal::SteadyNs;
using internal::UpperAscii;

}  // namespace

bool BridgeSim::Impl::SleepMs(double ms) {
  if (ms <= 0) return true;  // no lock on the fast path
  std::unique_lock<std::mutex> l(stop_mu_);
  const auto d = std::chrono::microseconds(static_cast<int64_t>(std::llround(ms * 1000.0)));
  return !stop_cv_.wait_for(l, d, [this] { return stop_.load(); });
}

std::string BridgeSim::Impl::ErrorReply(const std::string& uuid_json, std::string_view status,
                                        std::string_view code, std::string_view msg) {
  std::string out;
  out.reserve(160);
  ObjectWriter w(out);
  w.Raw("uuid", uuid_json)
      .Str("status", status)
      .Str("error_code", code)
      .Str("error_msg", msg)
      .Str("timestamp", FormatIsoExtendedUtc(NowUnixUs()));
  w.Close();
  return out;
}

BridgeSim::Impl::Outcome BridgeSim::Impl::Reject(const std::string& uuid_json,
                                                 const std::string* uuid_key, std::string_view code,
                                                 std::string_view msg) {
  Outcome o;
  o.reply = ErrorReply(uuid_json, "REJECTED", code, msg);
  rejected_.fetch_add(1, std::memory_order_relaxed);
  if (uuid_key != nullptr && opt_.order_status) {
    std::lock_guard<std::mutex> l(mu_);
    RecordLocked(*uuid_key, o.reply);
  }
  return o;
}

OrderDraw BridgeSim::Impl::BeginOrder(const std::string* uuid_key) {
  std::lock_guard<std::mutex> l(mu_);
  if (uuid_key != nullptr && opt_.order_status) ++RecordSlotLocked(*uuid_key).pending;
  OrderDraw draw;
  Fault& fault = draw.fault;
  const auto& f = opt_.faults;
  if (f.no_reply + f.late + f.reject + f.crash + f.no_ticket + f.odd_reply + f.stall > 0) {
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    // New kinds go last: a seed keeps drawing the same faults for the older kinds.
    const std::pair<double, Fault> table[] = {
        {f.crash, Fault::kCrash},      {f.reject, Fault::kReject}, {f.no_ticket, Fault::kNoTicket},
        {f.no_reply, Fault::kNoReply}, {f.late, Fault::kLate},     {f.odd_reply, Fault::kOddReply},
        {f.stall, Fault::kStall}};
    for (const auto& [p, kind] : table) {
      if (u < p) {
        fault = kind;
        break;
      }
      u -= p;
    }
  }
  if (fault == Fault::kOddReply) {
    const int n = internal::CountOddReplyKinds(f.odd_reply_kinds);
    draw.odd_kind = internal::NthOddReplyKind(f.odd_reply_kinds,
                                              std::uniform_int_distribution<int>(0, n - 1)(rng_));
    draw.odd_executed = std::bernoulli_distribution(f.odd_reply_executed)(rng_);
  }
  if (fault == Fault::kStall) {
    f_stall_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("bridge-sim: injected stall: this MT5 call takes {} ms", f.stall_ms);
    draw.latency_ms = static_cast<double>(f.stall_ms);
    return draw;
  }
  double ms = 0;
  const LatencyModel& m = opt_.latency;
  switch (m.kind) {
    case LatencyModel::Kind::kFixed:
      ms = m.a_ms;
      break;
    case LatencyModel::Kind::kUniform:
      ms = m.a_ms == m.b_ms ? m.a_ms : std::uniform_real_distribution<double>(m.a_ms, m.b_ms)(rng_);
      break;
    case LatencyModel::Kind::kLognormal: {
      const double mu = std::log(m.a_ms);
      const double sigma = (std::log(m.b_ms) - mu) / kZ99;
      ms = sigma > 0 ? std::exp(std::normal_distribution<double>(mu, sigma)(rng_)) : m.a_ms;
      break;
    }
  }
  draw.latency_ms = ms;
  return draw;
}

std::string BridgeSim::Impl::OddReplyLocked(const OrderDraw& draw, const std::string& uuid_json,
                                            const std::string* uuid_key, std::string_view action,
                                            int64_t ticket, std::string_view type,
                                            const std::string& real_reply, std::string_view symbol,
                                            double volume, double price) {
  f_odd_.fetch_add(1, std::memory_order_relaxed);
  if (draw.odd_executed) {
    f_odd_executed_.fetch_add(1, std::memory_order_relaxed);
    JournalLocked(uuid_json, action, ticket, type, real_reply);
    executed_.fetch_add(1, std::memory_order_relaxed);
    // ORDER_STATUS tells the truth the odd reply withheld.
    if (uuid_key != nullptr && opt_.order_status) RecordLocked(*uuid_key, real_reply);
  }
  return internal::OddReplyText(draw.odd_kind, uuid_json, draw.odd_executed ? ticket : 0, symbol,
                                volume, price, FormatIsoExtendedUtc(NowUnixUs()));
}

BridgeSim::Impl::Outcome BridgeSim::Impl::Deliver(std::string reply, Fault fault, bool serial) {
  Outcome o;
  o.reply = std::move(reply);
  switch (fault) {
    case Fault::kCrash:
      f_crash_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("bridge-sim: injected crash after execution");
      spdlog::default_logger()->flush();
      std::fflush(nullptr);
      ::_exit(3);
    case Fault::kNoReply:
      f_no_reply_.fetch_add(1, std::memory_order_relaxed);
      o.send = false;
      break;
    case Fault::kLate:
      f_late_.fetch_add(1, std::memory_order_relaxed);
      if (serial) {
        SleepMs(static_cast<double>(opt_.faults.late_ms));  // the queue waits too, as on a REP
      } else {
        o.delay_ms = opt_.faults.late_ms;
      }
      break;
    default:
      break;
  }
  return o;
}

BridgeSim::Impl::Outcome BridgeSim::Impl::HandleOpen(simdjson::dom::object obj,
                                                     const std::string& uuid_json,
                                                     const std::string* uuid_key, int64_t t0_us,
                                                     int64_t t0_ns, bool serial) {
  if (opt_.mt5_disconnected) {
    return Reject(uuid_json, uuid_key, "MT5_NOT_CONNECTED", "MT5 terminal not connected");
  }
  std::string_view symbol;
  if (!GetString(obj, "symbol", &symbol) || symbol.empty()) {
    return Reject(uuid_json, uuid_key, "MISSING_SYMBOL", "Missing symbol");
  }
  std::string_view type_in;
  if (!GetString(obj, "type", &type_in) || type_in.empty()) {
    return Reject(uuid_json, uuid_key, "MISSING_TYPE", "Missing type");
  }
  std::string type = UpperAscii(type_in);
  if (!IsOrderType(type)) {
    return Reject(uuid_json, uuid_key, "MISSING_TYPE", absl::StrCat("Invalid order type: ", type));
  }
  double volume = 0;
  simdjson::dom::element el;
  if (obj["volume"].get(el) != simdjson::SUCCESS || !GetNumber(el, &volume) ||
      !std::isfinite(volume) || volume <= 0) {
    return Reject(uuid_json, uuid_key, "INVALID_VOLUME", "Volume must be a number > 0");
  }
  double price = 0;
  if (obj["price"].get(el) == simdjson::SUCCESS && GetNumber(el, &price) &&
      !(std::isfinite(price) && price > 0)) {
    price = 0;
  }
  if (opt_.require_signature) {
    std::string_view sig;
    if (!GetString(obj, "risk_signature", &sig) || sig.empty()) {
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID", "Missing risk_signature");
    }
    std::vector<absl::string_view> parts =
        absl::StrSplit(absl::string_view(sig.data(), sig.size()), ':');
    if (parts.size() != 3 || parts[0] != "RISK_PASS") {
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID",
                    "Malformed risk_signature: want RISK_PASS:<checksum>:<timestamp>");
    }
    if (parts[1].size() < 8) {
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID", "Checksum too short");
    }
    std::optional<int64_t> ts = ParseIsoBasicUtc(parts[2]);
    if (!ts) {
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID",
                    "Invalid signature timestamp: want YYYYMMDDTHHMMSS.ffffffZ");
    }
    // t0 is when this request was dequeued: time spent queued counts against the TTL.
    if (t0_us - *ts > opt_.signature_ttl_ms * 1000) {
      expired_.fetch_add(1, std::memory_order_relaxed);
      return Reject(uuid_json, uuid_key, "RISK_SIGNATURE_INVALID", "Signature expired");
    }
  }

  const OrderDraw draw = BeginOrder(uuid_key);
  const Fault fault = draw.fault;
  if (!SleepMs(draw.latency_ms)) {
    std::lock_guard<std::mutex> l(mu_);
    EndPendingLocked(uuid_key);
    return Outcome{{}, false, 0};  // stopped before MT5 saw it
  }
  const double elapsed_ms = static_cast<double>(SteadyNs() - t0_ns) / 1e6;
  if (fault == Fault::kReject) {
    f_reject_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> l(mu_);
      EndPendingLocked(uuid_key);
    }
    return Reject(uuid_json, uuid_key, "MT5_ORDER_FAILED",
                  "order_send failed: retcode 10006 (injected)");
  }
  const double fill = price > 0 ? price : opt_.quote;
  std::string reply;
  reply.reserve(256);
  {
    std::lock_guard<std::mutex> l(mu_);
    EndPendingLocked(uuid_key);
    const bool odd = fault == Fault::kOddReply;
    const bool place = fault != Fault::kNoTicket && (!odd || draw.odd_executed);
    const int64_t ticket = place ? next_ticket_++ : 0;
    ObjectWriter w(reply);
    w.Raw("uuid", uuid_json)
        .Str("status", "FILLED")
        .Int("ticket", ticket)
        .Str("symbol", symbol)
        .Num("volume", volume)
        .Num("price", fill)
        .Str("execution_time", FormatIsoExtendedUtc(NowUnixUs()))
        .Num("latency_ms", elapsed_ms);
    w.Close();
    if (odd) {
      if (place) positions_[ticket] = Position{ticket, std::string(symbol), type, volume, fill};
      return Outcome{OddReplyLocked(draw, uuid_json, uuid_key, "OPEN", ticket, type, reply, symbol,
                                    volume, fill),
                     true, 0};
    }
    if (ticket != 0) {
      positions_[ticket] = Position{ticket, std::string(symbol), type, volume, fill};
      JournalLocked(uuid_json, "OPEN", ticket, type, reply);
      executed_.fetch_add(1, std::memory_order_relaxed);
    } else {
      f_no_ticket_.fetch_add(1, std::memory_order_relaxed);
    }
    if (uuid_key != nullptr && opt_.order_status) RecordLocked(*uuid_key, reply);
  }
  return Deliver(std::move(reply), fault, serial);
}

BridgeSim::Impl::Outcome BridgeSim::Impl::HandleClose(simdjson::dom::object obj,
                                                      const std::string& uuid_json,
                                                      const std::string* uuid_key, int64_t t0_ns,
                                                      bool serial) {
  if (opt_.mt5_disconnected) {
    return Reject(uuid_json, uuid_key, "MT5_NOT_CONNECTED", "MT5 terminal not connected");
  }
  int64_t ticket = 0;
  simdjson::dom::element el;
  bool ok = obj["ticket"].get(el) == simdjson::SUCCESS;
  if (ok) {
    if (el.get_int64().get(ticket) != simdjson::SUCCESS) {
      double d = 0;
      ok = el.is_double() && el.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d) &&
           d == std::trunc(d) && std::fabs(d) < 9e15;
      ticket = ok ? static_cast<int64_t>(d) : 0;
    }
  }
  if (!ok) {
    return Reject(uuid_json, uuid_key, "MT5_CLOSE_FAILED", "Missing or invalid ticket");
  }

  const OrderDraw draw = BeginOrder(uuid_key);
  const Fault fault = draw.fault;
  if (!SleepMs(draw.latency_ms)) {
    std::lock_guard<std::mutex> l(mu_);
    EndPendingLocked(uuid_key);
    return Outcome{{}, false, 0};
  }
  const double elapsed_ms = static_cast<double>(SteadyNs() - t0_ns) / 1e6;
  std::string reply;
  bool found = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    EndPendingLocked(uuid_key);
    auto it = positions_.find(ticket);
    found = it != positions_.end();
    if (found && fault != Fault::kReject) {
      const bool odd = fault == Fault::kOddReply;
      const bool place = fault != Fault::kNoTicket && (!odd || draw.odd_executed);
      ObjectWriter w(reply);
      w.Raw("uuid", uuid_json)
          .Str("status", "FILLED")
          .Int("ticket", place ? ticket : 0)
          .Num("close_price", it->second.open_price)
          .Str("execution_time", FormatIsoExtendedUtc(NowUnixUs()))
          .Num("latency_ms", elapsed_ms);
      w.Close();
      if (odd) {
        const Position closed = it->second;
        if (place) positions_.erase(it);
        return Outcome{OddReplyLocked(draw, uuid_json, uuid_key, "CLOSE", ticket, {}, reply,
                                      closed.symbol, closed.volume, closed.open_price),
                       true, 0};
      }
      if (place) {
        positions_.erase(it);
        JournalLocked(uuid_json, "CLOSE", ticket, {}, reply);
        executed_.fetch_add(1, std::memory_order_relaxed);
      } else {
        f_no_ticket_.fetch_add(1, std::memory_order_relaxed);
      }
      if (uuid_key != nullptr && opt_.order_status) RecordLocked(*uuid_key, reply);
    }
  }
  if (fault == Fault::kReject) {
    f_reject_.fetch_add(1, std::memory_order_relaxed);
    return Reject(uuid_json, uuid_key, "MT5_CLOSE_FAILED",
                  "order_send failed: retcode 10006 (injected)");
  }
  if (!found) {
    return Reject(uuid_json, uuid_key, "MT5_CLOSE_FAILED",
                  absl::StrCat("Position ", ticket, " not found"));
  }
  return Deliver(std::move(reply), fault, serial);
}

std::string BridgeSim::Impl::HandleAccount(const std::string& uuid_json) {
  double margin = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    // 100k contract at 1:100 leverage: good enough to make margin move with positions.
    for (const auto& [t, p] : positions_) margin += p.volume * 100000.0 * p.open_price / 100.0;
  }
  margin = std::round(margin * 100) / 100;
  const double equity = opt_.balance;  // positions never move off their open price
  std::string out;
  ObjectWriter w(out);
  w.Raw("uuid", uuid_json)
      .Str("status", "ok")
      .Num("balance", opt_.balance)
      .Num("equity", equity)
      .Num("margin", margin)
      .Num("free_margin", std::round((equity - margin) * 100) / 100)
      .Num("margin_level", margin > 0 ? std::round(equity / margin * 10000) / 100 : 0.0)
      .Str("currency", "USD")
      .Str("timestamp", FormatIsoExtendedUtc(NowUnixUs()));
  w.Close();
  return out;
}

std::string BridgeSim::Impl::HandlePositions(simdjson::dom::object obj,
                                             const std::string& uuid_json) {
  std::string_view filter;
  const bool filtered = GetString(obj, "symbol", &filter) && !filter.empty();
  std::string out;
  out.reserve(128);
  out += "{\"uuid\":";
  out += uuid_json;
  out += ",\"status\":\"ok\",\"positions\":[";
  {
    std::lock_guard<std::mutex> l(mu_);
    bool first = true;
    for (const auto& [t, p] : positions_) {
      if (filtered && p.symbol != filter) continue;
      if (!first) out += ',';
      first = false;
      ObjectWriter w(out);
      w.Int("ticket", p.ticket)
          .Str("symbol", p.symbol)
          .Str("type", p.type)
          .Num("volume", p.volume)
          .Num("open_price", p.open_price)
          .Num("current_price", p.open_price)
          .Num("profit", 0.0);
      w.Close();
    }
  }
  out += "],\"timestamp\":";
  AppendEscaped(out, FormatIsoExtendedUtc(NowUnixUs()));
  out += '}';
  return out;
}

std::string BridgeSim::Impl::HandleOrderStatus(const std::string& uuid_json,
                                               const std::string* uuid_key) {
  if (uuid_key == nullptr) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return ErrorReply(uuid_json, "error", "MISSING_UUID", "ORDER_STATUS needs a string uuid");
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = records_.find(*uuid_key);
    if (it != records_.end()) {
      if (it->second.pending > 0) {
        std::string out;
        ObjectWriter w(out);
        w.Raw("uuid", uuid_json).Str("status", "PENDING");
        w.Close();
        return out;
      }
      if (!it->second.reply.empty()) return it->second.reply;
    }
  }
  // "Not found" tells ordergate the order never executed (protocol.md, Resolving UNKNOWN): it must
  // not be said of an executed order merely forgotten by the capacity bound. The journal has them
  // all; it is read only on such a miss.
  if (evicted_.load(std::memory_order_relaxed) && !opt_.journal_path.empty()) {
    if (std::optional<std::string> reply = FindInJournal(uuid_json)) {
      std::lock_guard<std::mutex> l(mu_);
      if (!records_.contains(*uuid_key)) RecordLocked(*uuid_key, *reply);
      return *reply;
    }
  }
  errors_.fetch_add(1, std::memory_order_relaxed);
  return ErrorReply(uuid_json, "error", "NOT_FOUND", "No order with this uuid seen by the bridge");
}

BridgeSim::Impl::Outcome BridgeSim::Impl::Handle(const zmq::message_t& body, Scratch& s,
                                                 bool serial) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  // The moment of dequeue: the signature TTL is judged against it.
  const int64_t t0_us = NowUnixUs();
  const int64_t t0_ns = SteadyNs();
  const size_t len = body.size();
  if (s.buf.size() < len + simdjson::SIMDJSON_PADDING)
    s.buf.resize(len + simdjson::SIMDJSON_PADDING);
  if (len > 0) std::memcpy(s.buf.data(), body.data(), len);

  simdjson::dom::element root;
  simdjson::dom::object obj;
  const std::string kNull = "null";
  if (s.parser.parse(s.buf.data(), len, false).get(root) != simdjson::SUCCESS ||
      root.get_object().get(obj) != simdjson::SUCCESS) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return Outcome{ErrorReply(kNull, "error", "INVALID_JSON", "Request is not a JSON object"), true,
                   0};
  }

  std::string uuid_json = kNull;
  std::string uuid_storage;
  const std::string* uuid_key = nullptr;
  simdjson::dom::element uel;
  if (obj["uuid"].get(uel) == simdjson::SUCCESS) {
    std::string_view sv;
    if (uel.get_string().get(sv) == simdjson::SUCCESS) {
      uuid_json.clear();
      AppendEscaped(uuid_json, sv);
      uuid_storage.assign(sv);
      uuid_key = &uuid_storage;
    } else {
      uuid_json = simdjson::minify(uel);  // echo a non-string uuid as it came
    }
  }

  std::string_view action_in;
  if (!GetString(obj, "action", &action_in) || action_in.empty()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return Outcome{ErrorReply(uuid_json, "error", "MISSING_ACTION", "Missing action"), true, 0};
  }
  const std::string action = UpperAscii(action_in);
  spdlog::debug("bridge-sim: request {} uuid={}", action, uuid_json);

  if (action == "OPEN") return HandleOpen(obj, uuid_json, uuid_key, t0_us, t0_ns, serial);
  if (action == "CLOSE") return HandleClose(obj, uuid_json, uuid_key, t0_ns, serial);
  if (action == "PING") {
    double latency_ms = 0;
    std::string_view ts;
    if (GetString(obj, "timestamp", &ts)) {
      if (auto t = ParseIsoAnyUtc(ts))
        latency_ms = std::max<double>(0, static_cast<double>(t0_us - *t) / 1000.0);
    }
    std::string out;
    ObjectWriter w(out);
    w.Raw("uuid", uuid_json)
        .Str("status", "ok")
        .Str("server_time", FormatIsoExtendedUtc(t0_us))
        .Num("latency_ms", latency_ms);
    w.Close();
    return Outcome{std::move(out), true, 0};
  }
  if (action == "GET_ACCOUNT") return Outcome{HandleAccount(uuid_json), true, 0};
  if (action == "GET_POSITIONS") return Outcome{HandlePositions(obj, uuid_json), true, 0};
  if (action == "ORDER_STATUS" && opt_.order_status) {
    return Outcome{HandleOrderStatus(uuid_json, uuid_key), true, 0};
  }
  errors_.fetch_add(1, std::memory_order_relaxed);
  return Outcome{
      ErrorReply(uuid_json, "error", "UNKNOWN_ACTION", absl::StrCat("Unknown action: ", action)),
      true, 0};
}

}  // namespace ordergate::transport::sim
