// SessionPurger: one thread that deletes, every sessions.purge_interval
// seconds, the revoked token ids and refresh tokens that have expired and the
// throttle counters whose window is over, so those tables never grow without
// bound and no operator has to run anything. Several processes on one
// database may purge at once: the deletes are idempotent.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/config.h"

namespace fu {

class SessionPurger {
  public:
    explicit SessionPurger(const Config& config) : config_(config) {}
    ~SessionPurger() { stop(); }
    SessionPurger(const SessionPurger&) = delete;
    SessionPurger& operator=(const SessionPurger&) = delete;

    void start();
    // Wakes the thread and joins it.
    void stop();

  private:
    void loop();

    const Config& config_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
};

}  // namespace fu
