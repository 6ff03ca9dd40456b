// The purge thread's loop (see session_purger.h).
#include "auth/session_purger.h"

#include <chrono>

#include "store/stores.h"
#include "util/log.h"

namespace fu {

void SessionPurger::start() {
    thread_ = std::thread([this] { loop(); });
}

void SessionPurger::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void SessionPurger::loop() {
    DbThread db_thread;
    Stores stores(config_);
    const auto interval = std::chrono::seconds(config_.sessions.purge_interval);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, interval, [this] { return stopping_; })) {
        lock.unlock();
        auto r = stores.sessions().purge(config_.sessions.throttle_window);
        if (!r)
            log::warn("session purge failed (database error); trying again in the next interval");
        else if (*r > 0)
            log::debug("session purge: " + std::to_string(*r) + " expired rows purged");
        lock.lock();
    }
}

}  // namespace fu
