// Dispatcher: delivers the rows of hook_event at least once. One claimer
// thread owns the database connection: it claims due rows, as many as there
// are idle delivery slots, in one transaction each time (HookEventStore), and
// writes every outcome; hook.concurrency slot threads run the commands
// (runner.h) and hand their outcomes back. An outcome the database did not
// take (it was down) is kept and written again before anything new is
// claimed, so a command that ran is not run again for want of a write.
// Outcomes: done, retried after an exponential back-off (longer once a
// command has timed out twice), or failed for good after hook.max_attempts.
// Rows outlive the process: after a crash they are delivered on the next
// start, or by another host once their lease has passed. Delivered rows are
// deleted after hook.retention.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "store/hook_event_store.h"
#include "util/fd.h"

namespace fu {
class Metrics;
class Stores;
}  // namespace fu

namespace fu::hooks {

class Dispatcher {
  public:
    // `metrics` (may be null) receives the slots and the runs' ends; it must
    // outlive stop().
    explicit Dispatcher(const Config& config, Metrics* metrics = nullptr);
    ~Dispatcher() { stop(); }
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    void start();
    // Kills the commands running now (their whole process groups), hands
    // their rows back as due now (the attempt not counted), writes the
    // outcomes it holds if the database answers, and joins every thread.
    void stop();
    // A row was just written: look now instead of at the next poll.
    void wake();
    static void wake_callback(void* self) { static_cast<Dispatcher*>(self)->wake(); }

  private:
    // What the claimer writes for one claimed row.
    struct Report {
        enum class Kind { done, retry_or_fail, release } kind;
        HookEventRow row;
        int exit_status = 0;
        bool timed_out = false;
        std::string error_tail;
        // retry_or_fail: nullopt = failed for good; release: due again in (else now)
        std::optional<long> retry_in;

        static Report of(Kind kind, HookEventRow row) {
            return Report{kind, std::move(row), 0, false, {}, std::nullopt};
        }
    };

    void claim_loop();
    void slot_loop();
    Report deliver(const HookEventRow& row);
    bool write(Stores& stores, const Report& r);
    void purge_if_due(Stores& stores);
    void publish_slots();  // under mutex_

    const Config& config_;
    Metrics* metrics_;
    std::string owner_;              // host:pid, in claimed_by
    Fd cancel_read_, cancel_write_;  // written once by stop(): every running command ends
    std::thread claimer_;
    std::vector<std::thread> slots_;
    std::mutex mutex_;
    std::condition_variable claimer_cv_;  // wakes, reports, stop
    std::condition_variable slot_cv_;     // jobs, stop
    std::atomic<bool> stopping_{false};
    bool slots_joined_ = false;      // under mutex_
    unsigned long wakes_ = 0;        // under mutex_
    std::deque<HookEventRow> jobs_;  // claimed, not yet started; under mutex_
    std::deque<Report> reports_;     // from the slots, not yet taken; under mutex_
    long busy_ = 0;                  // slots running a command; under mutex_
    std::chrono::steady_clock::time_point next_purge_{};  // claimer thread only
};

}  // namespace fu::hooks
