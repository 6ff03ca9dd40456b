// The watchdog behind ReadDeadlines. shutdown(SHUT_RD) rather than a receive
// timeout: SO_RCVTIMEO bounds each read(2), and libfcgi reads a body record
// by record, so a client trickling a byte at a time would never trip it.
// Arming and firing share one mutex, so a descriptor is never shut down after
// its worker disarmed it (and perhaps closed it, and the number was reused).
#include "fcgi/read_deadline.h"

#include <sys/socket.h>

namespace fu {

ReadDeadlines::ReadDeadlines(size_t slots, std::chrono::milliseconds tick)
    : tick_(tick), slots_(slots), thread_([this] { watch(); }) {}

ReadDeadlines::~ReadDeadlines() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    thread_.join();
}

void ReadDeadlines::arm(size_t slot, int fd, Clock::time_point deadline) {
    std::lock_guard<std::mutex> lock(mutex_);
    slots_[slot] = Slot{fd, deadline, false};
}

bool ReadDeadlines::disarm(size_t slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    bool fired = slots_[slot].fired;
    slots_[slot] = Slot{};
    return fired;
}

void ReadDeadlines::watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_cv_.wait_for(lock, tick_, [this] { return stopping_; })) {
        auto now = Clock::now();
        for (Slot& s : slots_) {
            if (s.fd < 0 || s.fired || now < s.deadline) continue;
            ::shutdown(s.fd, SHUT_RD);
            s.fired = true;
        }
    }
}

}  // namespace fu
