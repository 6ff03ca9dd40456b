// Dispatcher: delivers the rows of hook_event at least once. hook.concurrency
// threads, each with its own database connection, claim a due row, run its
// command (runner.h), and record the outcome: done, retried after an
// exponential back-off, or failed for good after hook.max_attempts. Rows
// outlive the process: after a crash they are delivered on the next start.
// Delivered rows are deleted after hook.retention.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "config/config.h"

namespace fu {
class Stores;
}

namespace fu::hooks {

class Dispatcher {
  public:
    explicit Dispatcher(const Config& config) : config_(config) {}
    ~Dispatcher() { stop(); }
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    void start();
    // Waits for the commands running now (each is bounded by hook.timeout).
    void stop();
    // A row was just written: look now instead of at the next poll.
    void wake();
    static void wake_callback(void* self) { static_cast<Dispatcher*>(self)->wake(); }

  private:
    void loop();
    void purge_if_due(Stores& stores);

    const Config& config_;
    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::atomic<bool> stopping_{false};
    unsigned long wakes_ = 0;
    std::chrono::steady_clock::time_point next_purge_{};  // under mutex_
};

}  // namespace fu::hooks
