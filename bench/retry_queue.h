// RetryQueue: the retries a load loop has scheduled (bench/load_run.cc over sockets,
// bench/embedded_load.cc in process). Every retry is due a fixed delay after the event that
// scheduled it, so retries are pushed in due order and the queue is a FIFO read from its head (a
// retry pushed behind a later one waits for it); its storage is reused once it has been drained.
//
//   RetryQueue retries;
//   retries.Push(now_ns + delay_ns, order_index);
//   retries.PopDue(now_ns, [&](uint32_t index) { Submit(index, /*first=*/false); });
//   if (!retries.empty()) wake = std::min(wake, retries.next_due_ns());
//
// Thread-safety: none; one load thread owns it.
#ifndef ORDERGATE_BENCH_RETRY_QUEUE_H_
#define ORDERGATE_BENCH_RETRY_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ordergate::bench {

class RetryQueue {
 public:
  void Reserve(size_t n) { due_.reserve(n); }
  void Push(int64_t due_ns, uint32_t index) { due_.push_back(Due{due_ns, index}); }

  // Calls submit(index) for every retry due by now_ns, oldest first; returns how many.
  template <typename Submit>
  size_t PopDue(int64_t now_ns, Submit&& submit) {
    size_t popped = 0;
    while (head_ < due_.size() && due_[head_].due_ns <= now_ns) {
      submit(due_[head_].index);
      ++head_;
      ++popped;
    }
    if (head_ == due_.size()) {
      due_.clear();
      head_ = 0;
    }
    return popped;
  }

  bool empty() const { return head_ == due_.size(); }
  // When the oldest retry is due. REQUIRES: !empty().
  int64_t next_due_ns() const { return due_[head_].due_ns; }

 private:
  struct Due {
    int64_t due_ns;
    uint32_t index;
  };
  std::vector<Due> due_;
  size_t head_ = 0;
};

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_RETRY_QUEUE_H_
