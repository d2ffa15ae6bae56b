#include "transport/sim/bridge_sim.h"

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
#include "transport/sim/sim_impl.h"
#include "transport/sim/sim_json.h"

namespace ordergate::transport::sim {
namespace {

using internal::SteadyNs;

}  // namespace

std::string BridgeSimStats::ToString() const {
  std::ostringstream os;
  os << "requests=" << requests << " executed=" << executed << " rejected=" << rejected
     << " errors=" << errors << " expired=" << expired << " fault_no_reply=" << fault_no_reply
     << " fault_late=" << fault_late << " fault_reject=" << fault_reject
     << " fault_crash=" << fault_crash << " fault_no_ticket=" << fault_no_ticket
     << " fault_odd_reply=" << fault_odd_reply << " fault_odd_executed=" << fault_odd_executed
     << " fault_stall=" << fault_stall << " malformed_frames=" << malformed_frames;
  return os.str();
}

absl::Status BridgeSim::Impl::Init() {
  const auto& f = opt_.faults;
  for (double p : {f.no_reply, f.late, f.reject, f.crash, f.no_ticket, f.odd_reply, f.stall,
                   f.odd_reply_executed}) {
    if (!(p >= 0 && p <= 1))
      return absl::InvalidArgumentError("fault probabilities must be in [0, 1]");
  }
  if (f.no_reply + f.late + f.reject + f.crash + f.no_ticket + f.odd_reply + f.stall > 1 + 1e-9) {
    return absl::InvalidArgumentError("fault probabilities must sum to at most 1");
  }
  if (f.late_ms < 0) return absl::InvalidArgumentError("fault late ms must be >= 0");
  if (f.stall_ms < 0) return absl::InvalidArgumentError("fault stall ms must be >= 0");
  if (f.odd_reply > 0 && (f.odd_reply_kinds & kAllOddReplies) == 0) {
    return absl::InvalidArgumentError("odd reply fault with no odd reply kind");
  }
  if (opt_.socket_hwm < 0) return absl::InvalidArgumentError("socket hwm must be >= 0");
  if (opt_.workers < 1 || opt_.workers > 1024) {
    return absl::InvalidArgumentError("workers must be in [1, 1024]");
  }
  if (opt_.signature_ttl_ms < 0) return absl::InvalidArgumentError("signature ttl must be >= 0");
  if (opt_.order_status_capacity == 0) {
    return absl::InvalidArgumentError("order status capacity must be > 0");
  }
  // Sized once: growing a table of hundreds of thousands of records rehashes them all while an
  // order waits, a stall of tens of milliseconds that the real bridge does not have and that would
  // be charged to whatever is measured through the simulator. Untouched slots cost no memory.
  if (opt_.order_status) records_.reserve(opt_.order_status_capacity + 1);

  if (opt_.seed) {
    seed_ = *opt_.seed;
  } else {
    std::random_device rd;
    seed_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  rng_.seed(seed_);

  if (!opt_.journal_path.empty()) {
    if (absl::Status st = LoadJournal(); !st.ok()) return st;
    journal_fd_ =
        ::open(opt_.journal_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (journal_fd_ < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot open journal ", opt_.journal_path, ": ", std::strerror(errno)));
    }
  }

  try {
    if (ctx_ == nullptr) {
      owned_ctx_ = std::make_unique<zmq::context_t>(1);
      ctx_ = owned_ctx_.get();
    }
    router_.emplace(*ctx_, zmq::socket_type::router);
    // Long enough to flush replies at shutdown, short enough never to hang a test.
    router_->set(zmq::sockopt::linger, 1000);
    router_->set(zmq::sockopt::sndhwm, opt_.socket_hwm);
    router_->set(zmq::sockopt::rcvhwm, opt_.socket_hwm);
    router_->bind(opt_.bind);
    endpoint_ = router_->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    router_.reset();
    return absl::UnavailableError(absl::StrCat("cannot bind ", opt_.bind, ": ", e.what()));
  }
  return absl::OkStatus();
}

BridgeSimStats BridgeSim::Impl::stats() const {
  BridgeSimStats s;
  s.requests = requests_.load(std::memory_order_relaxed);
  s.executed = executed_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.expired = expired_.load(std::memory_order_relaxed);
  s.fault_no_reply = f_no_reply_.load(std::memory_order_relaxed);
  s.fault_late = f_late_.load(std::memory_order_relaxed);
  s.fault_reject = f_reject_.load(std::memory_order_relaxed);
  s.fault_crash = f_crash_.load(std::memory_order_relaxed);
  s.fault_no_ticket = f_no_ticket_.load(std::memory_order_relaxed);
  s.fault_odd_reply = f_odd_.load(std::memory_order_relaxed);
  s.fault_odd_executed = f_odd_executed_.load(std::memory_order_relaxed);
  s.fault_stall = f_stall_.load(std::memory_order_relaxed);
  s.malformed_frames = malformed_.load(std::memory_order_relaxed);
  return s;
}

// Receives one multipart message without blocking; false if none is waiting.
bool BridgeSim::Impl::RecvFrames(zmq::socket_t& sock, std::vector<zmq::message_t>* frames) {
  frames->clear();
  zmq::message_t msg;
  if (!sock.recv(msg, zmq::recv_flags::dontwait)) return false;
  bool more = msg.more();
  frames->push_back(std::move(msg));
  while (more) {
    zmq::message_t part;
    // The rest of a multipart message is already here: recv cannot block.
    (void)sock.recv(part, zmq::recv_flags::none);
    more = part.more();
    frames->push_back(std::move(part));
  }
  return true;
}

void BridgeSim::Impl::SendReply(std::vector<zmq::message_t>& frames, size_t envelope_end,
                                const std::string& reply) {
  // Mirror the envelope exactly: [id][empty] for REQ/DEALER peers, [id] alone when they sent none.
  for (size_t i = 0; i < envelope_end; ++i) {
    (void)router_->send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  }
  (void)router_->send(zmq::buffer(reply), zmq::send_flags::dontwait);
}

void BridgeSim::Impl::Run() {
  if (!router_) return;
  try {
    if (opt_.workers <= 1) {
      RunSerial();
    } else {
      RunWorkers();
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != ETERM) spdlog::error("bridge-sim: zmq error: {}", e.what());
  }
  router_.reset();
}

void BridgeSim::Impl::RunSerial() {
  Scratch scratch;
  std::vector<zmq::message_t> frames;
  zmq::pollitem_t items[] = {{router_->handle(), 0, ZMQ_POLLIN, 0}};
  while (!stop_.load(std::memory_order_relaxed)) {
    int rc = 0;
    try {
      rc = zmq::poll(items, 1, std::chrono::milliseconds(50));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    if (rc <= 0) continue;
    // One at a time, in arrival order: later requests wait in the socket's queue, like on a REP.
    for (int i = 0; i < 4096 && !stop_.load(std::memory_order_relaxed); ++i) {
      if (!RecvFrames(*router_, &frames)) break;
      if (frames.size() < 2) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      Outcome o = Handle(frames.back(), scratch, /*serial=*/true);
      if (o.send) SendReply(frames, frames.size() - 1, o.reply);
    }
  }
}

void BridgeSim::Impl::WorkerLoop(const std::string& inproc) {
  Scratch scratch;
  zmq::socket_t push(*ctx_, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.set(zmq::sockopt::sndhwm, 0);  // never drop or block a reply on the way to the I/O thread
  push.connect(inproc);
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> l(jobs_mu_);
      jobs_cv_.wait(l, [this] { return stop_.load() || !jobs_.empty(); });
      if (stop_.load()) break;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Outcome o = Handle(job.frames.back(), scratch, /*serial=*/false);
    if (!o.send) continue;
    const int64_t due_ns = o.delay_ms > 0 ? SteadyNs() + o.delay_ms * 1000000 : 0;
    // [due_ns][envelope...][reply]: the I/O thread owns the ROUTER, so it does the sending.
    (void)push.send(zmq::buffer(&due_ns, sizeof due_ns), zmq::send_flags::sndmore);
    for (size_t i = 0; i + 1 < job.frames.size(); ++i) {
      (void)push.send(job.frames[i], zmq::send_flags::sndmore);
    }
    (void)push.send(zmq::buffer(o.reply), zmq::send_flags::none);
  }
}

void BridgeSim::Impl::RunWorkers() {
  const std::string inproc =
      absl::StrCat("inproc://ordergate-bridge-sim-replies-", reinterpret_cast<uintptr_t>(this));
  zmq::socket_t pull(*ctx_, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  pull.set(zmq::sockopt::rcvhwm, 0);
  pull.bind(inproc);
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(opt_.workers));
  for (int i = 0; i < opt_.workers; ++i)
    workers.emplace_back([this, &inproc] { WorkerLoop(inproc); });

  std::multimap<int64_t, std::vector<zmq::message_t>> delayed;  // late-fault replies by due time
  std::vector<zmq::message_t> frames;
  zmq::pollitem_t items[] = {{router_->handle(), 0, ZMQ_POLLIN, 0},
                             {pull.handle(), 0, ZMQ_POLLIN, 0}};
  auto forward = [this](std::vector<zmq::message_t>& f) {
    // f = [due][envelope...][reply]
    for (size_t i = 1; i < f.size(); ++i) {
      (void)router_->send(f[i],
                          (i + 1 < f.size() ? zmq::send_flags::sndmore : zmq::send_flags::none) |
                              zmq::send_flags::dontwait);
    }
  };
  try {
    while (!stop_.load(std::memory_order_relaxed)) {
      int64_t timeout_ms = 50;
      if (!delayed.empty()) {
        const int64_t wait_ns = delayed.begin()->first - SteadyNs();
        timeout_ms = std::clamp<int64_t>((wait_ns + 999999) / 1000000, 0, 50);
      }
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(timeout_ms));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
      for (int i = 0; i < 4096 && RecvFrames(*router_, &frames); ++i) {
        if (frames.size() < 2) {
          malformed_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        {
          std::lock_guard<std::mutex> l(jobs_mu_);
          jobs_.push_back(Job{std::move(frames)});
        }
        jobs_cv_.notify_one();
        frames = std::vector<zmq::message_t>();
      }
      for (int i = 0; i < 4096 && RecvFrames(pull, &frames); ++i) {
        int64_t due = 0;
        if (frames.size() < 3 || frames[0].size() != sizeof due) continue;
        std::memcpy(&due, frames[0].data(), sizeof due);
        if (due == 0) {
          forward(frames);
        } else {
          delayed.emplace(due, std::move(frames));
          frames = std::vector<zmq::message_t>();
        }
      }
      const int64_t now = SteadyNs();
      while (!delayed.empty() && delayed.begin()->first <= now) {
        forward(delayed.begin()->second);
        delayed.erase(delayed.begin());
      }
    }
  } catch (...) {
    Stop();
    for (auto& t : workers) t.join();
    throw;
  }
  Stop();  // wakes the workers
  for (auto& t : workers) t.join();
}

// ---- BridgeSim ----

BridgeSim::BridgeSim(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  endpoint_ = impl_->endpoint();
  seed_ = impl_->seed();
}

BridgeSim::~BridgeSim() = default;

absl::StatusOr<std::unique_ptr<BridgeSim>> BridgeSim::Create(const BridgeSimOptions& options,
                                                             zmq::context_t* context) {
  auto impl = std::make_unique<Impl>(options, context);
  if (absl::Status st = impl->Init(); !st.ok()) return st;
  return std::unique_ptr<BridgeSim>(new BridgeSim(std::move(impl)));
}

void BridgeSim::Run() { impl_->Run(); }
void BridgeSim::Stop() { impl_->Stop(); }
BridgeSimStats BridgeSim::stats() const { return impl_->stats(); }

}  // namespace ordergate::transport::sim
