// The power of ordergate-lossyfs's disk (lossyfs.cc): every file-system operation passes Enter()
// first, and the harness arms a cut point, waits for the freeze and cuts, over the control socket.
//
//   on ──(the armed point is reached)──► frozen ──(cut)──► off ──(power-on)──► on
//
// Cut points, counted from the moment they are armed:
//   kAtWrite N        the Nth write arrives: frozen before it is applied (a batch half written);
//   kBeforeSync N     the Nth fsync/fdatasync/fsyncdir arrives: frozen before it is applied (the
//                     writes before it are on their way, not durable);
//   kAfterSync N      the Nth sync is applied and answered, then frozen: what it covered is
//                     durable and the program learns so (it may send, reply) — until the kill.
// While frozen, every operation blocks (the disk has no power; the program cannot tell a stuck
// disk from a slow one). Cut() waits for the operations already past Enter() to finish, then runs
// the image's cut under the caller's lock, then answers every blocked operation EIO; while off,
// every operation fails EIO at once.
//
// Thread-safe: FUSE's worker threads call Enter()/Leave(), the control thread the rest.
#ifndef ORDERGATE_TESTS_RELIABILITY_POWER_LOSS_POWER_SWITCH_H_
#define ORDERGATE_TESTS_RELIABILITY_POWER_LOSS_POWER_SWITCH_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace ordergate::lossyfs {

enum class OpKind { kWrite, kSync, kOther };
enum class CutPoint { kNone, kAtWrite, kBeforeSync, kAfterSync };
enum class Power { kOn, kFrozen, kOff };

class PowerSwitch {
 public:
  // Blocks while frozen. 0: go on (then Leave() when done; `*freeze_after` says to call
  // FreezeAfter() once the operation is applied); -EIO: the power is off.
  int Enter(OpKind kind, bool* freeze_after);
  void Leave();
  // The kAfterSync point: freezes now (the operation that reached it is answered normally).
  void FreezeAfter();

  // Control. Arm() restarts the counters.
  void Arm(CutPoint point, uint64_t n);
  // true once frozen (or off), waiting up to `timeout`.
  bool WaitFrozen(std::chrono::milliseconds timeout);
  // Freezes if not yet frozen, waits for the operations in progress, runs `drop` (the image's
  // cut), then turns the power off: blocked operations fail EIO.
  void Cut(const std::function<void()>& drop);
  void PowerOn();
  std::string Describe();  // "power=on writes=N syncs=N blocked=N in_progress=N"

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Power power_ = Power::kOn;
  CutPoint point_ = CutPoint::kNone;
  uint64_t target_ = 0;
  uint64_t writes_ = 0;
  uint64_t syncs_ = 0;
  int blocked_ = 0;
  int in_progress_ = 0;
};

}  // namespace ordergate::lossyfs

#endif  // ORDERGATE_TESTS_RELIABILITY_POWER_LOSS_POWER_SWITCH_H_
