#include "gateway/shared_guard.h"

#include <atomic>

namespace ordergate::gateway {

namespace {
std::atomic<SharedGuardOpener> g_opener{nullptr};
}  // namespace

absl::string_view LeaseStateName(LeaseState s) {
  switch (s) {
    case LeaseState::kHeld:
      return "held";
    case LeaseState::kStale:
      return "stale";
    case LeaseState::kLost:
      return "lost";
    case LeaseState::kReleased:
      return "released";
  }
  return "unknown";
}

void SetSharedGuardOpener(SharedGuardOpener opener) {
  g_opener.store(opener, std::memory_order_release);
}

SharedGuardOpener GetSharedGuardOpener() { return g_opener.load(std::memory_order_acquire); }

}  // namespace ordergate::gateway
