// ServeSlots (see serve_slots.h). Waiters sleep without a timeout while a
// holder leads (it is waiting for requests, not stuck); only once every
// holder serves does one waiter watch the time, woken then by serving().
#include "fcgi/serve_slots.h"

#include <algorithm>

namespace fu::fcgi {

ServeSlots::ServeSlots(std::size_t slots, std::size_t workers, std::chrono::milliseconds patience)
    : slots_(std::max<std::size_t>(slots, 1)),
      patience_(patience),
      since_(workers, Clock::time_point::max()) {}

std::size_t ServeSlots::stuck(Clock::time_point now, Clock::time_point& next) const {
    std::size_t n = 0;
    next = Clock::time_point::max();
    for (Clock::time_point since : since_) {
        if (since == Clock::time_point::max()) continue;  // leads, or holds no slot
        if (since + patience_ <= now)
            ++n;
        else
            next = std::min(next, since + patience_);
    }
    return n;
}

void ServeSlots::acquire(std::size_t worker) {
    std::unique_lock lock(m_);
    ++waiting_;
    for (;;) {
        Clock::time_point next;
        if (held_ < slots_ + stuck(Clock::now(), next)) break;
        if (serving_ < held_ || timed_waiter_ || next == Clock::time_point::max()) {
            cv_.wait(lock);  // a release, or serving() once every holder serves
            continue;
        }
        timed_waiter_ = true;  // until the next holder has served for `patience`
        cv_.wait_until(lock, next);
        timed_waiter_ = false;
    }
    --waiting_;
    ++held_;
    since_[worker] = Clock::time_point::max();
}

void ServeSlots::serving(std::size_t worker) {
    std::lock_guard lock(m_);
    since_[worker] = Clock::now();
    ++serving_;
    if (serving_ == held_ && waiting_ > 0 && !timed_waiter_) cv_.notify_one();
}

void ServeSlots::release(std::size_t worker) {
    std::lock_guard lock(m_);
    if (since_[worker] != Clock::time_point::max()) --serving_;
    since_[worker] = Clock::time_point::max();
    --held_;
    if (waiting_ > 0) cv_.notify_one();
}

bool ServeSlots::keep(std::size_t worker) {
    std::lock_guard lock(m_);
    if (since_[worker] != Clock::time_point::max()) --serving_;
    since_[worker] = Clock::time_point::max();
    Clock::time_point next;
    if (held_ - 1 < slots_ + stuck(Clock::now(), next)) return true;
    --held_;
    if (waiting_ > 0) cv_.notify_one();
    return false;
}

std::size_t ServeSlots::held() const {
    std::lock_guard lock(m_);
    return held_;
}

}  // namespace fu::fcgi
