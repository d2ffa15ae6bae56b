#include "tests/reliability/power_loss/power_switch.h"

#include <cerrno>

namespace ordergate::lossyfs {

int PowerSwitch::Enter(OpKind kind, bool* freeze_after) {
  *freeze_after = false;
  std::unique_lock<std::mutex> lock(mu_);
  auto wait_for_power = [&]() -> bool {
    while (power_ == Power::kFrozen) {
      ++blocked_;
      cv_.wait(lock);
      --blocked_;
    }
    return power_ == Power::kOn;
  };
  if (!wait_for_power()) return -EIO;
  bool reached = false;
  if (kind == OpKind::kWrite) {
    ++writes_;
    reached = point_ == CutPoint::kAtWrite && writes_ == target_;
  } else if (kind == OpKind::kSync) {
    ++syncs_;
    reached =
        (point_ == CutPoint::kBeforeSync || point_ == CutPoint::kAfterSync) && syncs_ == target_;
  }
  if (reached && point_ == CutPoint::kAfterSync) {
    point_ = CutPoint::kNone;
    *freeze_after = true;
  } else if (reached) {
    point_ = CutPoint::kNone;
    power_ = Power::kFrozen;
    cv_.notify_all();
    if (!wait_for_power()) return -EIO;
  }
  ++in_progress_;
  return 0;
}

void PowerSwitch::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  --in_progress_;
  cv_.notify_all();
}

void PowerSwitch::FreezeAfter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (power_ == Power::kOn) power_ = Power::kFrozen;
  cv_.notify_all();
}

void PowerSwitch::Arm(CutPoint point, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  point_ = point;
  target_ = n;
  writes_ = 0;
  syncs_ = 0;
}

bool PowerSwitch::WaitFrozen(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return power_ != Power::kOn; });
}

void PowerSwitch::Cut(const std::function<void()>& drop) {
  std::unique_lock<std::mutex> lock(mu_);
  if (power_ == Power::kOn) power_ = Power::kFrozen;
  point_ = CutPoint::kNone;
  // Operations already past Enter() finish first (they reached the disk before the power went).
  cv_.wait(lock, [this] { return in_progress_ == 0; });
  drop();
  power_ = Power::kOff;
  cv_.notify_all();
}

void PowerSwitch::PowerOn() {
  std::lock_guard<std::mutex> lock(mu_);
  power_ = Power::kOn;
  point_ = CutPoint::kNone;
  cv_.notify_all();
}

std::string PowerSwitch::Describe() {
  std::lock_guard<std::mutex> lock(mu_);
  const char* p = power_ == Power::kOn ? "on" : power_ == Power::kFrozen ? "frozen" : "off";
  return std::string("power=") + p + " writes=" + std::to_string(writes_) +
         " syncs=" + std::to_string(syncs_) + " blocked=" + std::to_string(blocked_) +
         " in_progress=" + std::to_string(in_progress_);
}

}  // namespace ordergate::lossyfs
