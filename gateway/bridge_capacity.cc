#include "gateway/bridge_capacity.h"

#include <algorithm>

namespace ordergate::gateway {

BridgeCapacity::BridgeCapacity(int64_t budget_ns, uint64_t max_unanswered)
    : budget_ns_(std::max<int64_t>(budget_ns, 1)),
      max_unanswered_(std::max<uint64_t>(max_unanswered, 1)),
      service_ns_(std::max<int64_t>(budget_ns_ / static_cast<int64_t>(kColdStartLimit), 1)) {}

void BridgeCapacity::OnSent(int64_t sent_ns, bool bridge_was_idle) {
  if (bridge_was_idle) busy_since_ns_ = sent_ns;
}

void BridgeCapacity::OnReply(int64_t sent_ns, int64_t replied_ns) {
  const int64_t started_ns = std::max(sent_ns, last_reply_ns_);
  const int64_t gap_ns = std::clamp<int64_t>(replied_ns - started_ns, 0, budget_ns_);
  last_reply_ns_ = std::max(last_reply_ns_, replied_ns);
  if (samples_ == 0) {
    // The first reply replaces the cold-start guess unless it is faster than it: a fast bridge
    // then opens up within a few dozen replies, a slow one is believed at once.
    service_ns_ = std::max(service_ns_ / 2, gap_ns);
  } else {
    service_ns_ += (gap_ns - service_ns_) / 16;
  }
  ++samples_;
}

void BridgeCapacity::OnDisconnected() { last_reply_ns_ = busy_since_ns_ = 0; }

uint64_t BridgeCapacity::Limit(int64_t now_ns, bool busy) const {
  int64_t service_ns = std::max<int64_t>(service_ns_, 1);
  if (busy) {
    const int64_t in_service_ns = now_ns - std::max(last_reply_ns_, busy_since_ns_);
    service_ns = std::max(service_ns, std::min(in_service_ns, budget_ns_));
  }
  const uint64_t fits = static_cast<uint64_t>(budget_ns_ / service_ns);
  return std::clamp<uint64_t>(fits, 1, max_unanswered_);
}

}  // namespace ordergate::gateway
