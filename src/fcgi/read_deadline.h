// ReadDeadlines: an absolute deadline on reading a request body, so that a
// client that sends its body slowly (or never) cannot hold a worker: when the
// deadline passes, the connection's reading side is shut down, the blocked
// read returns, and the worker answers 408.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace fu {

class ReadDeadlines {
  public:
    using Clock = std::chrono::steady_clock;

    // One slot per worker; a watchdog thread checks the armed ones every
    // `tick`. Joins the thread on destruction.
    explicit ReadDeadlines(size_t slots,
                           std::chrono::milliseconds tick = std::chrono::milliseconds(100));
    ~ReadDeadlines();
    ReadDeadlines(const ReadDeadlines&) = delete;
    ReadDeadlines& operator=(const ReadDeadlines&) = delete;

    // From the worker owning `slot`: shut down the reading side of `fd` at
    // `deadline` unless disarm(slot) comes first. The caller must not close
    // `fd` before disarm(slot).
    void arm(size_t slot, int fd, Clock::time_point deadline);
    // Returns whether the deadline passed (and `fd` was shut down for reading).
    bool disarm(size_t slot);

  private:
    struct Slot {
        int fd = -1;  // -1: not armed
        Clock::time_point deadline;
        bool fired = false;
    };
    void watch();

    std::chrono::milliseconds tick_;
    std::mutex mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::vector<Slot> slots_;
    std::thread thread_;
};

}  // namespace fu
