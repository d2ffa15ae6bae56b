// ordergate::Client's I/O thread (transport/public_client_impl.h): it owns the socket, every
// request in flight and its timers, and runs every callback.
#include <zmq.hpp>

#include "absl/strings/str_cat.h"
#include "transport/public_client_impl.h"
#include "transport/public_client_wire.h"

namespace ordergate {

bool Client::Impl::Write(const std::string& body) {
  try {
    if (!socket->send(zmq::const_buffer(nullptr, 0),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return false;
    }
    // A DEALER takes the second frame once it took the first.
    return socket->send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none)
        .has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

void Client::Impl::SendOrder(OrderEntry& e, Clock::time_point now) {
  e.wake_after_not_now = false;
  if (Write(e.body)) {
    n.sends.fetch_add(1, std::memory_order_relaxed);
    e.last_send = now;
    e.wake = now + AttemptWait();
  } else {
    e.wake = now + kSendRetryDelay;
  }
  Schedule(std::min(e.wake, e.deadline));
}

void Client::Impl::SendStatus(StatusEntry& s, Clock::time_point now) {
  s.wake = now + (Write(s.body) ? AttemptWait() : kSendRetryDelay);
  Schedule(std::min(s.wake, s.deadline));
}

void Client::Impl::Finish(const std::string& uuid, Outcome out) {
  auto it = orders.find(uuid);
  if (it == orders.end()) return;
  done_now.emplace_back(std::move(it->second), std::move(out));
  orders.erase(it);
  n.in_flight.fetch_sub(1, std::memory_order_relaxed);
}

void Client::Impl::RunDone() {
  std::vector<std::pair<std::unique_ptr<OrderEntry>, Outcome>> batch;
  batch.swap(done_now);
  for (auto& [entry, out] : batch) {
    for (size_t i = 0; i < entry->waiters.size(); ++i) {
      if (i == 1) out.duplicate = true;  // joined at this client
      entry->waiters[i](out);
    }
  }
}

void Client::Impl::Accept(Command& c, Clock::time_point now) {
  if (c.is_status) {
    if (orders.count(c.uuid) != 0) {
      c.status_done(std::optional<Outcome>(
          Decided(c.uuid, OutcomeStatus::kInFlight, "", "in flight at this client")));
      return;
    }
    StatusEntry s{std::move(c.body), std::move(c.status_done), now + Ms(c.deadline_ms), now};
    auto& q = statuses[c.uuid];
    q.push_back(std::move(s));
    SendStatus(q.back(), now);
    return;
  }
  auto it = orders.find(c.uuid);
  if (it != orders.end()) {
    if (it->second->body == c.body) {
      it->second->waiters.push_back(std::move(c.done));
    } else {
      c.done(Decided(c.uuid, OutcomeStatus::kRejected, "IDEMPOTENCY_CONFLICT",
                     "this uuid is in flight at this client for a different order"));
    }
    return;
  }
  auto e = std::make_unique<OrderEntry>();
  e->uuid = c.uuid;
  e->body = std::move(c.body);
  e->waiters.push_back(std::move(c.done));
  e->deadline = now + Ms(c.deadline_ms);
  OrderEntry& ref = *e;
  orders.emplace(c.uuid, std::move(e));
  n.in_flight.fetch_add(1, std::memory_order_relaxed);
  SendOrder(ref, now);
}

void Client::Impl::OnReply(absl::string_view body, Clock::time_point now) {
  ClientReply r;
  if (!transport::ReadClientReply(body, &r) || !r.has_uuid) {
    n.unmatched.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::string uuid = r.outcome.uuid;  // a copy: r.outcome is moved below
  auto st = statuses.find(uuid);
  auto it = orders.find(uuid);
  if (st != statuses.end()) {
    StatusEntry s = std::move(st->second.front());
    st->second.pop_front();
    if (st->second.empty()) statuses.erase(st);
    s.done(StatusFromReply(r));
    if (it == orders.end() || r.kind != ReplyKind::kFinal) return;
  }
  if (it == orders.end()) {
    n.unmatched.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  OrderEntry& e = *it->second;
  switch (r.kind) {
    case ReplyKind::kFinal:
      Finish(uuid, std::move(r.outcome));
      return;
    case ReplyKind::kPending:
      n.pending.fetch_add(1, std::memory_order_relaxed);
      e.last_not_now.reset();
      // A PENDING that answers an older copy while a newer send is out changes nothing: that
      // send's own reply (or its wait) decides.
      if (now - e.last_send >= Ms(attempt_ms / 2)) SendOrder(e, now);
      return;
    case ReplyKind::kNotNow:
      if (!options.retry_not_now) {
        Finish(uuid, std::move(r.outcome));
        return;
      }
      e.last_not_now = std::move(r.outcome);
      e.wake = now + e.not_now_delay;
      e.wake_after_not_now = true;
      e.not_now_delay = std::min<Clock::duration>(2 * e.not_now_delay, kMaxNotNowDelay);
      Schedule(std::min(e.wake, e.deadline));
      return;
    case ReplyKind::kNotFound:
    case ReplyKind::kPing:
    case ReplyKind::kOther:
      n.unmatched.fetch_add(1, std::memory_order_relaxed);
      return;
  }
}

StatusResult Client::Impl::StatusFromReply(const ClientReply& r) {
  switch (r.kind) {
    case ReplyKind::kNotFound:
      return std::optional<Outcome>();
    case ReplyKind::kPending:
      return std::optional<Outcome>(r.outcome);
    case ReplyKind::kFinal:
      if (r.outcome.status == OutcomeStatus::kRejected && !r.outcome.recorded) {
        return absl::InternalError(
            absl::StrCat("ORDER_STATUS refused: ", r.outcome.error_code, " ", r.outcome.message));
      }
      return std::optional<Outcome>(r.outcome);
    case ReplyKind::kNotNow:
      return absl::UnavailableError(absl::StrCat(r.outcome.error_code, ": ", r.outcome.message));
    case ReplyKind::kPing:
    case ReplyKind::kOther:
      break;
  }
  return absl::InternalError("ORDER_STATUS: a reply without an order status");
}

void Client::Impl::Scan(Clock::time_point now) {
  next_scan = Clock::time_point::max();
  std::vector<std::string> expired;
  for (auto& [uuid, e] : orders) {
    if (now >= e->deadline) {
      expired.push_back(uuid);
      continue;
    }
    if (now >= e->wake) {
      (e->wake_after_not_now ? n.not_now : n.silent).fetch_add(1, std::memory_order_relaxed);
      SendOrder(*e, now);
    }
    Schedule(std::min(e->wake, e->deadline));
  }
  for (const std::string& uuid : expired) {
    OrderEntry& e = *orders[uuid];
    Outcome out = e.last_not_now.has_value()
                      ? *e.last_not_now
                      : Decided(uuid, OutcomeStatus::kUnknown, "CLIENT_DEADLINE",
                                "no final outcome before the client's deadline; the order may "
                                "be in flight: ask Status(uuid), never a new uuid");
    Finish(uuid, std::move(out));
  }
  std::vector<StatusCallback> timed_out;
  for (auto it = statuses.begin(); it != statuses.end();) {
    auto& q = it->second;
    for (auto s = q.begin(); s != q.end();) {
      if (now >= s->deadline) {
        timed_out.push_back(std::move(s->done));
        s = q.erase(s);
        continue;
      }
      if (now >= s->wake) SendStatus(*s, now);
      Schedule(std::min(s->wake, s->deadline));
      ++s;
    }
    it = q.empty() ? statuses.erase(it) : std::next(it);
  }
  for (auto& done : timed_out) done(absl::DeadlineExceededError("ORDER_STATUS: no reply in time"));
}

void Client::Impl::OnMonitor(Clock::time_point now) {
  zmq::message_t event;
  zmq::message_t address;
  while (monitor->recv(event, zmq::recv_flags::dontwait)) {
    if (event.more()) (void)monitor->recv(address, zmq::recv_flags::dontwait);
    if (event.size() < sizeof(uint16_t)) continue;
    uint16_t id = 0;
    std::memcpy(&id, event.data(), sizeof id);
    if (id == ZMQ_EVENT_DISCONNECTED) {
      disconnected = true;
    } else if (id == ZMQ_EVENT_CONNECTED) {
      if (was_connected && disconnected) {
        n.reconnects.fetch_add(1, std::memory_order_relaxed);
        for (auto& [uuid, e] : orders) SendOrder(*e, now);
        for (auto& [uuid, q] : statuses) {
          for (StatusEntry& s : q) SendStatus(s, now);
        }
      }
      was_connected = true;
      disconnected = false;
    }
  }
}

void Client::Impl::Run() {
  zmq::message_t frame;
  for (;;) {
    Clock::time_point now = Clock::now();
    int64_t timeout_ms = 1000;
    if (next_scan != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(next_scan - now).count();
      timeout_ms = std::clamp<int64_t>(left, 0, 1000);
    }
    zmq_pollitem_t items[3] = {{socket->handle(), 0, ZMQ_POLLIN, 0},
                               {monitor->handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, wake_fd, ZMQ_POLLIN, 0}};
    (void)zmq_poll(items, 3, static_cast<long>(timeout_ms));
    now = Clock::now();
    if ((items[2].revents & ZMQ_POLLIN) != 0) {
      uint64_t count = 0;
      [[maybe_unused]] const ssize_t r = ::read(wake_fd, &count, sizeof count);
    }
    std::vector<Command> cmds;
    bool stop = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      cmds.swap(queue);
      stop = stopping;
    }
    for (Command& c : cmds) {
      if (stop) {
        Refuse(c);
      } else {
        Accept(c, now);
      }
    }
    if (stop) break;
    for (int i = 0; i < kMaxRepliesPerWake; ++i) {
      try {
        if (!socket->recv(frame, zmq::recv_flags::dontwait)) break;
        if (frame.empty() && frame.more()) {
          if (!socket->recv(frame, zmq::recv_flags::dontwait)) break;
        }
        const bool single = !frame.more();
        const absl::string_view body(static_cast<const char*>(frame.data()), frame.size());
        if (single) OnReply(body, now);
        while (frame.more() && socket->recv(frame, zmq::recv_flags::dontwait)) {
        }
      } catch (const zmq::error_t&) {
        break;
      }
    }
    OnMonitor(now);
    if (now >= next_scan) Scan(now);
    RunDone();
  }
  for (auto& [uuid, e] : orders) {
    done_now.emplace_back(std::move(e),
                          Decided(uuid, OutcomeStatus::kUnknown, "CLIENT_CLOSED",
                                  "the client closed before the final outcome; the order may "
                                  "be in flight: ask Status(uuid), never a new uuid"));
  }
  n.in_flight.store(0, std::memory_order_relaxed);
  orders.clear();
  RunDone();
  for (auto& [uuid, q] : statuses) {
    for (StatusEntry& s : q) s.done(absl::UnavailableError("the client is closed"));
  }
  statuses.clear();
  monitor.reset();
  socket.reset();
}

void Client::Impl::Refuse(Command& c) {
  if (c.is_status) {
    c.status_done(absl::UnavailableError("the client is closed"));
  } else {
    c.done(Decided(c.uuid, OutcomeStatus::kRejected, "CLIENT_CLOSED",
                   "the client is closed; nothing was sent"));
  }
}

}  // namespace ordergate
