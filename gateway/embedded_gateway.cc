// ordergate::Gateway (include/ordergate/gateway.h): the public, in-process face of the pipeline.
//
// It owns the pipeline's thread (gateway::Gateway::Run) and is the pipeline's EmbeddedSink
// (gateway/embedded_port.h). A submission is checked on the caller's thread by the very decoder
// the front end uses (the Order is written as the wire's OPEN/CLOSE body and DecodeRequest reads
// it), so an in-process order and a socket's order meet the same rules, fingerprint and codes;
// then it is queued to the pipeline under a correlation id, whose callback waits in `pending`.
// Outcomes come back as the wire's reply objects and are read into an Outcome here.
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gateway/clock.h"
#include "gateway/config.h"
#include "gateway/embedded_port.h"
#include "gateway/gateway.h"
#include "ordergate/gateway.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"
#include "transport/codec.h"
#include "transport/log_format.h"
#include "transport/public_client_wire.h"

namespace ordergate {
namespace {

// The caller's clock readings (the pipeline reads its own, gateway/clock.h, the same one).
int64_t SteadyNs() { return gateway::SystemClock().SteadyNs(); }
int64_t UnixUs() { return gateway::SystemClock().UnixUs(); }

// Reads a reply object (the wire's, before duplicate/gateway_us) into `out`. Fields it lacks keep
// their defaults; an object that cannot be read at all becomes UNKNOWN (it may describe an order
// that executed: the safe reading).
void ReadReply(simdjson::ondemand::parser& parser, absl::string_view object, Outcome* out) {
  simdjson::padded_string padded(object.data(), object.size());
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) {
    out->status = OutcomeStatus::kUnknown;
    out->message = "the gateway's reply could not be read";
    return;
  }
  std::string_view status;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) continue;
    simdjson::ondemand::value v;
    if (field.value().get(v)) continue;
    std::string_view text;
    if (key == "uuid") {
      if (!v.get_string().get(text)) out->uuid.assign(text.data(), text.size());
    } else if (key == "status") {
      if (!v.get_string().get(text)) status = text;
      if (status == "FILLED") {
        out->status = OutcomeStatus::kFilled;
      } else if (status == "UNKNOWN" || status == "PENDING") {
        out->status = OutcomeStatus::kUnknown;
      } else {
        out->status = OutcomeStatus::kRejected;  // REJECTED, and "error": refused, nothing sent
      }
    } else if (key == "ticket") {
      int64_t t = 0;
      double d = 0;
      if (!v.get_int64().get(t)) {
        out->ticket = t;
      } else if (!v.get_double().get(d) && std::isfinite(d)) {
        out->ticket = static_cast<int64_t>(d);
      }
    } else if (key == "price" || key == "close_price") {
      double d = 0;
      if (!v.get_double().get(d)) out->price = d;
    } else if (key == "volume") {
      double d = 0;
      if (!v.get_double().get(d)) out->volume = d;
    } else if (key == "error_code") {
      if (!v.get_string().get(text)) out->error_code.assign(text.data(), text.size());
    } else if (key == "error_msg" || key == "msg") {
      if (!v.get_string().get(text)) out->message.assign(text.data(), text.size());
    }
  }
  if (status.empty()) {
    out->status = OutcomeStatus::kUnknown;
    if (out->message.empty()) out->message = "the gateway's reply has no status";
  }
}

Outcome Refusal(const std::string& uuid, ErrorCode code, absl::string_view msg) {
  Outcome out;
  out.uuid = uuid;
  out.status = OutcomeStatus::kRejected;
  const absl::string_view name = ErrorCodeName(code);
  out.error_code.assign(name.data(), name.size());
  out.message.assign(msg.data(), msg.size());
  out.recorded = false;
  std::string reply;
  EncodeErrorReply(uuid, code, /*is_order=*/true, msg, UnixUs(), &reply);
  out.reply_json = std::move(reply);
  return out;
}

gateway::GatewayConfig ConfigFrom(const GatewayOptions& o) {
  gateway::GatewayConfig cfg;
  cfg.bridge = o.bridge_endpoint;
  cfg.data_dir = o.data_dir;
  cfg.durability = o.durability == Durability::kAsync ? idempotency::Durability::kAsync
                                                      : idempotency::Durability::kSync;
  cfg.bridge_timeout_ms = o.bridge_timeout_ms;
  cfg.bridge_signature_ttl_ms = o.bridge_signature_ttl_ms;
  cfg.bridge_exec_margin_ms = o.bridge_exec_margin_ms;
  cfg.bridge_max_in_flight = o.bridge_max_in_flight;
  cfg.bridge_receive_hwm = o.bridge_receive_hwm;
  cfg.retention = absl::Hours(o.retention_hours);
  cfg.unknown_query_interval_ms = o.unknown_query_interval_ms;
  cfg.max_volume = o.max_volume;
  cfg.metrics_listen.clear();  // the daemon's; an embedded gateway serves no HTTP
  return cfg;
}

}  // namespace

const char* OutcomeStatusName(OutcomeStatus s) {
  switch (s) {
    case OutcomeStatus::kFilled:
      return "FILLED";
    case OutcomeStatus::kRejected:
      return "REJECTED";
    case OutcomeStatus::kUnknown:
      return "UNKNOWN";
    case OutcomeStatus::kInFlight:
      return "IN_FLIGHT";
  }
  return "UNKNOWN";
}

struct Gateway::Impl final : gateway::EmbeddedSink {
  GatewayOptions options;
  DecodeLimits limits;
  std::unique_ptr<gateway::Gateway> gw;
  std::thread pipeline;
  std::atomic<std::thread::id> pipeline_id{};
  simdjson::ondemand::parser parser;  // the pipeline thread's (Deliver, Resolved)

  std::mutex mu;
  absl::flat_hash_map<uint64_t, Callback> pending;  // guarded by mu
  std::atomic<uint64_t> next_id{1};
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> refused_here{0};  // answered on the caller's thread (fields, closed)
  std::atomic<bool> closing{false};

  std::mutex close_mu;
  bool closed = false;        // guarded by close_mu
  absl::Status close_status;  // guarded by close_mu
  // The counters as Close() left them: stats() reads them once the pipeline is gone.
  std::atomic<bool> gone{false};
  GatewayStats final_stats;  // written before `gone` is set, read after

  GatewayStats ReadStats() const;  // REQUIRES: gw is set

  void Deliver(uint64_t id, absl::string_view reply_object, bool duplicate, bool recorded,
               int64_t gateway_us) override {
    Callback done;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = pending.find(id);
      if (it == pending.end()) return;  // cannot happen: one reply per id
      done = std::move(it->second);
      pending.erase(it);
    }
    Outcome out;
    ReadReply(parser, reply_object, &out);
    out.duplicate = duplicate;
    out.recorded = recorded;
    out.gateway_us = gateway_us;
    out.reply_json.assign(reply_object.data(), reply_object.size());
    done(out);
  }

  void Resolved(absl::string_view uuid, absl::string_view reply_object) override {
    if (!options.on_resolved) return;
    Outcome out;
    ReadReply(parser, reply_object, &out);
    out.uuid.assign(uuid.data(), uuid.size());
    out.recorded = true;
    out.reply_json.assign(reply_object.data(), reply_object.size());
    options.on_resolved(out);
  }
};

Gateway::Gateway() : impl_(std::make_unique<Impl>()) {}

Gateway::~Gateway() { (void)Close(); }

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Open(const GatewayOptions& options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("data_dir must name the store's directory (it is empty)");
  }
  if (options.retention_hours < 1 || options.retention_hours > 87600) {
    return absl::InvalidArgumentError(
        absl::StrCat("retention_hours (", options.retention_hours, ") must be within 1..87600"));
  }
  // The pipeline logs through spdlog's default logger. A process that has not named its own gets
  // ordergate's format on stderr: the library must never write to the strategy's stdout, which is
  // the strategy's own (embedded_strategy prints one JSON line per outcome there).
  if (spdlog::default_logger_raw() != nullptr && spdlog::default_logger_raw()->name().empty()) {
    transport::UseLogFormat("ordergate");
  }
  std::unique_ptr<Gateway> g(new Gateway());
  Impl& im = *g->impl_;
  im.options = options;
  const gateway::GatewayConfig cfg = ConfigFrom(options);
  im.limits.max_request_bytes = static_cast<size_t>(cfg.max_request_bytes);
  im.limits.max_volume = cfg.max_volume;
  im.limits.signature_ttl_ms = cfg.bridge_signature_ttl_ms;
  auto started = gateway::Gateway::StartEmbedded(cfg, &im);
  if (!started.ok()) return started.status();
  im.gw = std::move(*started);
  im.pipeline = std::thread([&im] {
    im.pipeline_id.store(std::this_thread::get_id());
    absl::Status run = im.gw->Run();
    if (!run.ok()) spdlog::error("ordergate: the pipeline stopped: {}", run.ToString());
    std::lock_guard<std::mutex> lock(im.close_mu);
    if (!run.ok() && im.close_status.ok()) im.close_status = run;
  });
  return g;
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): `done` is moved into the pending map
void Gateway::Submit(const Order& order, Callback done) {
  Impl& im = *impl_;
  im.submitted.fetch_add(1, std::memory_order_relaxed);
  const int64_t received_ns = SteadyNs();
  if (im.closing.load(std::memory_order_acquire)) {
    im.refused_here.fetch_add(1, std::memory_order_relaxed);
    done(Refusal(order.uuid, ErrorCode::kGatewayBusy, "the gateway is closed"));
    return;
  }
  if (order.action == OrderAction::kOpen && !std::isfinite(order.volume)) {
    im.refused_here.fetch_add(1, std::memory_order_relaxed);
    done(Refusal(order.uuid, ErrorCode::kInvalidVolume, "volume must be a finite number"));
    return;
  }
  if (!std::isfinite(order.price) || !std::isfinite(order.sl) || !std::isfinite(order.tp)) {
    im.refused_here.fetch_add(1, std::memory_order_relaxed);
    done(Refusal(order.uuid, ErrorCode::kInvalidPrice, "price, sl and tp must be finite numbers"));
    return;
  }
  thread_local std::string body;
  // The Order as the front end's OPEN/CLOSE body (as the C++ client writes it), so that both doors
  // decode with the wire's own rules. Non-finite numbers were refused above.
  transport::WriteClientOrderBody(order, /*timeout_ms=*/0, &body);
  gateway::EmbeddedSubmission s;
  const ErrorCode ec = DecodeRequest(body, im.limits, UnixUs(), &s.request);
  if (ec != ErrorCode::kOk) {
    im.refused_here.fetch_add(1, std::memory_order_relaxed);
    done(Refusal(order.uuid, ec, {}));
    return;
  }
  s.id = im.next_id.fetch_add(1, std::memory_order_relaxed);
  s.received_ns = received_ns;
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.pending.emplace(s.id, std::move(done));
  }
  if (!im.gw->SubmitEmbedded(s)) {
    Callback refused;
    {
      std::lock_guard<std::mutex> lock(im.mu);
      auto it = im.pending.find(s.id);
      if (it == im.pending.end()) return;  // answered after all
      refused = std::move(it->second);
      im.pending.erase(it);
    }
    im.refused_here.fetch_add(1, std::memory_order_relaxed);
    refused(Refusal(order.uuid, ErrorCode::kGatewayBusy, "the gateway is closing"));
  }
}

Outcome Gateway::SubmitAndWait(const Order& order) {
  if (std::this_thread::get_id() == impl_->pipeline_id.load()) {
    return Refusal(order.uuid, ErrorCode::kGatewayBusy,
                   "SubmitAndWait was called on the gateway's own thread (from a callback), where "
                   "it would wait forever: use Submit");
  }
  struct Slot {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Outcome out;
  };
  auto slot = std::make_shared<Slot>();
  Submit(order, [slot](const Outcome& out) {
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      slot->out = out;
      slot->done = true;
    }
    slot->cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(slot->mu);
  slot->cv.wait(lock, [&] { return slot->done; });
  return std::move(slot->out);
}

absl::StatusOr<std::optional<Outcome>> Gateway::Status(const std::string& uuid) const {
  if (uuid.empty()) return absl::Status(absl::StatusCode::kInvalidArgument, "");
  // Under close_mu: Close() cannot free the store while this point read runs.
  std::lock_guard<std::mutex> lock(impl_->close_mu);
  if (impl_->gw == nullptr) return absl::Status(absl::StatusCode::kUnavailable, "");
  auto rec = impl_->gw->LookupOrder(uuid);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return std::optional<Outcome>();
  const idempotency::Record& r = **rec;
  Outcome out;
  out.uuid = uuid;
  out.duplicate = true;
  out.recorded = true;
  switch (r.state) {
    case idempotency::RecordState::kReserved:
      out.status = OutcomeStatus::kInFlight;
      return std::optional<Outcome>(std::move(out));
    case idempotency::RecordState::kAbsent:
      return std::optional<Outcome>();
    case idempotency::RecordState::kUnknown:
      if (r.reply.empty()) {
        out.status = OutcomeStatus::kUnknown;
        out.error_code = "BRIDGE_TIMEOUT";
        return std::optional<Outcome>(std::move(out));
      }
      break;
    case idempotency::RecordState::kFilled:
    case idempotency::RecordState::kRejected:
      break;
  }
  simdjson::ondemand::parser parser;
  ReadReply(parser, r.reply, &out);
  out.reply_json = r.reply;
  return std::optional<Outcome>(std::move(out));
}

GatewayStats Gateway::stats() const {
  if (impl_->gone.load(std::memory_order_acquire)) return impl_->final_stats;
  std::lock_guard<std::mutex> lock(impl_->close_mu);
  if (impl_->gw == nullptr) return impl_->final_stats;
  return impl_->ReadStats();
}

GatewayStats Gateway::Impl::ReadStats() const {
  const gateway::GatewayCounters& c = gw->counters();
  GatewayStats s;
  s.submitted = submitted.load(std::memory_order_relaxed);
  s.sent = c.orders_submitted.load(std::memory_order_relaxed);
  s.filled = c.orders_filled.load(std::memory_order_relaxed);
  s.rejected = c.orders_rejected.load(std::memory_order_relaxed);
  s.unknown = c.orders_unknown.load(std::memory_order_relaxed);
  s.duplicates = c.duplicates.load(std::memory_order_relaxed);
  s.refused =
      c.denied.load(std::memory_order_relaxed) + refused_here.load(std::memory_order_relaxed);
  s.store_batches = c.store_batches.load(std::memory_order_relaxed);
  s.in_flight = gw->in_flight();
  s.bridge_up = gw->bridge_up();
  return s;
}

absl::Status Gateway::Close() {
  Impl& im = *impl_;
  if (std::this_thread::get_id() == im.pipeline_id.load()) {
    return absl::FailedPreconditionError(
        "Close was called on the gateway's own thread (from a callback), where it would wait for "
        "itself");
  }
  std::unique_lock<std::mutex> lock(im.close_mu);
  if (im.closed) return im.close_status;
  im.closed = true;
  im.closing.store(true, std::memory_order_release);
  if (im.gw == nullptr) return im.close_status;  // Open() failed before the pipeline started
  im.gw->Stop();
  lock.unlock();  // the pipeline thread records its status under it
  if (im.pipeline.joinable()) im.pipeline.join();
  lock.lock();
  im.final_stats = im.ReadStats();
  im.gone.store(true, std::memory_order_release);
  im.gw.reset();  // closes the store: a clean close, synced
  // Normally every submission was answered by the pipeline (Run refuses what arrives while it
  // stops), and nothing is left here; its caller must not wait forever if something is.
  absl::flat_hash_map<uint64_t, Callback> left;
  {
    std::lock_guard<std::mutex> pending_lock(im.mu);
    left.swap(im.pending);
  }
  // Reached only when the pipeline stopped on an error of its own (its poll failed) before it could
  // answer: such an order may have been sent, so the only safe answer is UNKNOWN — never a refusal
  // that would invite a new uuid. Its record (RESERVED, UNKNOWN at the next Open) settles it.
  for (auto& [id, done] : left) {
    Outcome out;
    out.status = OutcomeStatus::kUnknown;
    out.error_code = "GATEWAY_STOPPED";
    out.message =
        "the gateway's pipeline stopped before this order's outcome was known: it may have "
        "executed; reopen on the same data directory and look it up with Status()";
    done(out);
  }
  return im.close_status;
}

}  // namespace ordergate
