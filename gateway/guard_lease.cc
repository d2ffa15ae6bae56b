// The PostgreSQL shared guard: OpenPostgresGuard and its heartbeat (gateway/guard_lease.h).
#include "gateway/guard_lease.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "idempotency/postgres_store.h"
#include "spdlog/spdlog.h"

namespace ordergate::gateway {

namespace {

using idempotency::PostgresStore;
using idempotency::Record;
using idempotency::RecordState;

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view SV(absl::string_view s) { return {s.data(), s.size()}; }

class PostgresLeaseGuard final : public SharedGuard {
 public:
  PostgresLeaseGuard(PostgresStore* store, const GatewayConfig& cfg, int64_t incarnation,
                     int64_t acquired_at_ns)
      : store_(store),
        id_(cfg.gateway_id),
        timing_{cfg.guard_lease_ms},
        list_interval_ns_(cfg.unknown_query_interval_ms * 1'000'000),
        incarnation_(incarnation),
        renewed_at_ns_(acquired_at_ns) {}

  ~PostgresLeaseGuard() override { StopThread(); }

  void Start() override {
    thread_ = std::thread([this] {
      (void)pthread_setname_np(pthread_self(), "og-lease");
      Heartbeat();
    });
    sweeper_ = std::thread([this] {
      (void)pthread_setname_np(pthread_self(), "og-sweep");
      Sweeper();
    });
    housekeeping_ = std::thread([this] {
      (void)pthread_setname_np(pthread_self(), "og-retention");
      Housekeeping();
    });
  }

  bool MaySend() const override {
    const auto s = static_cast<LeaseState>(state_.load(std::memory_order_acquire));
    if (s == LeaseState::kLost || s == LeaseState::kReleased) return false;
    return timing_.MaySend(renewed_at_ns_.load(std::memory_order_acquire), SteadyNowNs());
  }

  bool Lost() const override {
    return static_cast<LeaseState>(state_.load(std::memory_order_acquire)) == LeaseState::kLost;
  }

  SharedGuardStats stats() const override {
    SharedGuardStats out;
    out.state = static_cast<LeaseState>(state_.load(std::memory_order_acquire));
    if (out.state == LeaseState::kHeld && !MaySend()) out.state = LeaseState::kStale;
    out.incarnation = incarnation_;
    out.renewals = renewals_.load(std::memory_order_relaxed);
    out.renew_failures = renew_failures_.load(std::memory_order_relaxed);
    out.gateways_recovered = gateways_recovered_.load(std::memory_order_relaxed);
    out.orders_recovered = orders_recovered_.load(std::memory_order_relaxed);
    out.sweep_failures = sweep_failures_.load(std::memory_order_relaxed);
    return out;
  }

  bool TakeAdoptable(std::vector<Record>* out) override {
    std::unique_lock<std::mutex> lock(listing_mu_, std::try_to_lock);
    if (!lock.owns_lock() || !listing_fresh_) return false;
    out->swap(listing_);
    listing_.clear();
    listing_fresh_ = false;
    return true;
  }

  void Release() override {
    StopThread();
    state_.store(static_cast<int>(LeaseState::kReleased), std::memory_order_release);
    const absl::Status released = store_->ReleaseLease(id_, incarnation_);
    if (released.ok()) {
      spdlog::info("shared guard: lease of {} (incarnation {}) released", id_, incarnation_);
    } else {
      spdlog::warn("shared guard: releasing the lease of {} failed ({}); it expires within {} ms",
                   id_, SV(released.message()), timing_.lease_ms);
    }
  }

  const std::string& gateway_id() const override { return id_; }

 private:
  void StopThread() {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (sweeper_.joinable()) sweeper_.join();
    if (housekeeping_.joinable()) housekeeping_.join();
  }

  // Waits `ns` or until stopped; false when stopped.
  bool WaitFor(int64_t ns) {
    std::unique_lock<std::mutex> lock(stop_mu_);
    return !stop_cv_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(ns, 0)),
                              [this] { return stop_; });
  }

  // Renewals only, on the store's lease connection: nothing else this gateway does (a sweep over
  // many records, reads that hold every pool connection) can delay one; when renewals, sweeps and
  // listings shared one thread, a slow round held the next renewal back (the nemesis on the shared
  // guard saw leases lost that way). After a failed renewal the next comes sooner (a quarter of
  // the interval): the lease survives an outage as long as the time left allows one success.
  void Heartbeat() {
    const int64_t interval_ns = timing_.renew_interval_ms() * 1'000'000;
    int64_t next_round_ns = SteadyNowNs() + interval_ns;
    while (WaitFor(next_round_ns - SteadyNowNs())) {
      const bool held = Renew();
      if (static_cast<LeaseState>(state_.load()) == LeaseState::kLost) return;
      const int64_t now_ns = SteadyNowNs();
      next_round_ns = now_ns + (held && !failing_ ? interval_ns : interval_ns / 4);
    }
  }

  // The sweeps for dead gateways and the listing of their UNKNOWN orders, every renewal interval
  // (the listing every unknown_query_interval_ms), while this gateway may send: a gateway whose
  // own lease is in doubt moves nobody's orders.
  void Sweeper() {
    int64_t next_listing_ns = SteadyNowNs();
    while (WaitFor(timing_.renew_interval_ms() * 1'000'000)) {
      if (!MaySend()) continue;
      Sweep();
      const int64_t now_ns = SteadyNowNs();
      if (now_ns >= next_listing_ns) {
        next_listing_ns = now_ns + list_interval_ns_;
        ListAdoptable();
      }
    }
  }

  // True while the lease is held.
  bool Renew() {
    if (static_cast<LeaseState>(state_.load()) == LeaseState::kLost) return false;
    const int64_t started_ns = SteadyNowNs();
    auto renewed = store_->RenewLease(id_, incarnation_, timing_.lease_ms);
    if (renewed.ok()) {
      renewed_at_ns_.store(started_ns, std::memory_order_release);
      renewals_.fetch_add(1, std::memory_order_relaxed);
      if (failing_) {
        spdlog::info("shared guard: lease of {} renewed again; orders are admitted", id_);
        failing_ = false;
      }
      return true;
    }
    renew_failures_.fetch_add(1, std::memory_order_relaxed);
    if (renewed.status().code() == absl::StatusCode::kFailedPrecondition) {
      state_.store(static_cast<int>(LeaseState::kLost), std::memory_order_release);
      spdlog::error(
          "shared guard: the lease of {} (incarnation {}) is LOST ({}): another gateway may "
          "already treat this one's in-flight orders as UNKNOWN. No new order is admitted; this "
          "gateway settles what it has in flight and exits with status 75 for its supervisor to "
          "restart it under a fresh lease",
          id_, incarnation_, SV(renewed.status().message()));
      return false;
    }
    if (!failing_) {
      spdlog::warn(
          "shared guard: renewing the lease of {} failed ({}); orders stop {} ms after the last "
          "renewal unless one succeeds",
          id_, absl::StatusCodeToString(renewed.status().code()), timing_.sendable_for_ms());
      failing_ = true;
    }
    return MaySend();
  }

  // Retention, on a thread of its own so that a slow DDL never delays a renewal: at start and then
  // every hour, the partitions of today and tomorrow are made (the first batch of a day then pays
  // no DDL) and the days past the retention dropped (in-flight records carried forward first:
  // they never expire). Every gateway of the guard does it; the store serialises them.
  void Housekeeping() {
    constexpr int64_t kEveryNs = int64_t{3600} * 1'000'000'000;
    do {
      const int64_t now_ms = UnixNowMs();
      if (const absl::Status made = store_->EnsurePartitions(now_ms); !made.ok()) {
        spdlog::warn(
            "shared guard: retention: cannot create the partitions of today and tomorrow "
            "({}); a batch creates its day's when it is missing",
            SV(made.message()));
      }
      auto dropped = store_->DropExpiredPartitions(now_ms);
      if (!dropped.ok()) {
        spdlog::warn(
            "shared guard: retention: dropping expired partitions failed ({}); tried "
            "again in an hour",
            SV(dropped.status().message()));
      } else if (!dropped->empty()) {
        spdlog::info("shared guard: retention: {} day partition(s) past the retention dropped",
                     dropped->size());
      }
    } while (WaitFor(kEveryNs));
  }

  void Sweep() {
    auto expired = store_->ListExpiredLeases();
    if (!expired.ok()) {
      sweep_failures_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    expired_.clear();
    for (const idempotency::LeaseRow& row : *expired) {
      if (row.gateway_id == id_) continue;
      expired_.insert(row.gateway_id);
      // Fenced on the incarnation listed: a gateway that came back since keeps its new orders.
      auto moved = store_->RecoverGateway(row.gateway_id, row.incarnation, UnixNowMs());
      if (!moved.ok()) {
        sweep_failures_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (*moved > 0) {
        gateways_recovered_.fetch_add(1, std::memory_order_relaxed);
        orders_recovered_.fetch_add(*moved, std::memory_order_relaxed);
        spdlog::warn(
            "shared guard: gateway {}'s lease has expired: {} of its RESERVED order(s) moved to "
            "UNKNOWN (never resent; asked about with ORDER_STATUS)",
            row.gateway_id, *moved);
      }
    }
    swept_ = true;
  }

  void ListAdoptable() {
    if (!swept_) return;  // the owners' lease states are not known yet
    auto in_flight = store_->ListInFlight();
    if (!in_flight.ok()) {
      sweep_failures_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::vector<Record> adoptable;
    for (Record& rec : *in_flight) {
      if (rec.state != RecordState::kUnknown) continue;
      auto cached = owners_.find(rec.key);
      if (cached == owners_.end()) {
        auto owner = store_->OwnerOf(rec.key);
        if (!owner.ok()) {
          sweep_failures_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        cached = owners_.emplace(rec.key, *std::move(owner)).first;
      }
      if (cached->second == id_ || !expired_.contains(cached->second)) continue;
      adoptable.push_back(std::move(rec));
    }
    // Forget the owners of keys no longer in flight (settled): the cache stays that size.
    if (owners_.size() > 4 * in_flight->size() + 1024) owners_.clear();
    std::lock_guard<std::mutex> lock(listing_mu_);
    listing_ = std::move(adoptable);
    listing_fresh_ = true;
  }

  PostgresStore* const store_;
  const std::string id_;
  const LeaseTiming timing_;
  const int64_t list_interval_ns_;
  const int64_t incarnation_;
  std::atomic<int64_t> renewed_at_ns_;
  std::atomic<int> state_{static_cast<int>(LeaseState::kHeld)};
  std::atomic<uint64_t> renewals_{0};
  std::atomic<uint64_t> renew_failures_{0};
  std::atomic<uint64_t> gateways_recovered_{0};
  std::atomic<uint64_t> orders_recovered_{0};
  std::atomic<uint64_t> sweep_failures_{0};

  // The heartbeat thread's own.
  bool failing_ = false;
  // The sweeper thread's own.
  bool swept_ = false;
  absl::flat_hash_set<std::string> expired_;
  absl::flat_hash_map<std::string, std::string> owners_;

  std::mutex listing_mu_;
  std::vector<Record> listing_;  // guarded by listing_mu_
  bool listing_fresh_ = false;   // guarded by listing_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread thread_;
  std::thread sweeper_;
  std::thread housekeeping_;
};

}  // namespace

absl::StatusOr<OpenedSharedGuard> OpenPostgresGuard(const GatewayConfig& cfg) {
  idempotency::PostgresStoreOptions opts;
  opts.dsn = cfg.guard_dsn;
  opts.gateway_id = cfg.gateway_id;
  // A statement never outlasts the lease's margin (a third), nor 2 s.
  const int64_t statement_ms = std::min<int64_t>(2000, cfg.guard_lease_ms / 3);
  opts.statement_timeout_ms = static_cast<int>(statement_ms);
  opts.connect_timeout_ms = static_cast<int>(statement_ms);
  // Whole days of partitions, at least the retention (a record is kept from its reservation day).
  const int64_t retention_s = absl::ToInt64Seconds(cfg.retention);
  opts.retention_days = static_cast<int>(std::max<int64_t>(1, (retention_s + 86399) / 86400));
  auto opened = PostgresStore::Open(opts);
  if (!opened.ok()) {
    return absl::Status(
        opened.status().code(),
        absl::StrCat("cannot open the shared guard (guard_dsn): ", opened.status().message()));
  }
  const int64_t acquired_at_ns = SteadyNowNs();
  auto lease = (*opened)->AcquireLease(cfg.gateway_id, cfg.guard_lease_ms);
  if (!lease.ok()) {
    if (lease.status().code() == absl::StatusCode::kAlreadyExists) {
      return absl::AlreadyExistsError(absl::StrCat(
          "gateway_id \"", cfg.gateway_id,
          "\" is held by another live gateway on the shared guard (", lease.status().message(),
          "): give this one another gateway_id, or stop the other first"));
    }
    return absl::Status(lease.status().code(),
                        absl::StrCat("cannot acquire the lease of gateway_id \"", cfg.gateway_id,
                                     "\": ", lease.status().message()));
  }
  // Before this run reserves anything: every RESERVED record of the id is a previous run's. Fenced
  // on the incarnation just acquired (another process taking the id meanwhile stops it).
  auto recovered = (*opened)->RecoverOwnPreviousRuns(lease->incarnation, UnixNowMs());
  if (!recovered.ok()) {
    (void)(*opened)->ReleaseLease(cfg.gateway_id, lease->incarnation);
    return absl::Status(recovered.status().code(),
                        absl::StrCat("cannot recover gateway ", cfg.gateway_id,
                                     "'s RESERVED records: ", recovered.status().message()));
  }
  spdlog::info(
      "shared guard: gateway {} holds its lease (incarnation {}, {} ms, renewed every {} ms); {} "
      "RESERVED record(s) of its previous run moved to UNKNOWN",
      cfg.gateway_id, lease->incarnation, cfg.guard_lease_ms,
      LeaseTiming{cfg.guard_lease_ms}.renew_interval_ms(), *recovered);
  OpenedSharedGuard out;
  out.guard =
      std::make_unique<PostgresLeaseGuard>(opened->get(), cfg, lease->incarnation, acquired_at_ns);
  out.recovered = *recovered;
  out.store = std::move(*opened);
  return out;
}

namespace {
// Linked into a program (ordergated, the PostgreSQL tests), this object makes guard = "postgres"
// available to Gateway::Start.
[[maybe_unused]] const bool kRegistered = [] {
  SetSharedGuardOpener(&OpenPostgresGuard);
  return true;
}();
}  // namespace

}  // namespace ordergate::gateway
