// ServeSlots: how many workers lead or serve at once. A worker holds a slot
// from before it waits for requests (the accept lock) until it has answered
// the group it took. With fewer slots than workers, requests that arrive
// while the slots' holders serve wait in the socket and are then taken as
// one group (one statement for their users, fewer wake-ups): on 2 cores, 2
// slots served /users/me 20-40 % faster than 8 (bench/README, fifth round).
// A holder that has served for `patience` or longer (a lock wait, a slow
// commit, a body that is slow to come) no longer counts: a waiting worker
// takes a slot beyond the limit in its stead, so slow requests never keep
// the others waiting for longer than that.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

namespace fu::fcgi {

class ServeSlots {
  public:
    using Clock = std::chrono::steady_clock;
    // workers: the workers (each names itself by its index below it).
    ServeSlots(std::size_t slots, std::size_t workers, std::chrono::milliseconds patience);
    ServeSlots(const ServeSlots&) = delete;
    ServeSlots& operator=(const ServeSlots&) = delete;

    // Waits for a slot: a free one, or one beyond the limit for each holder
    // that has served for `patience`.
    void acquire(std::size_t worker);
    // The holder took requests and serves them now (until release).
    void serving(std::size_t worker);
    // Gives the slot back.
    void release(std::size_t worker);
    // The holder has answered its group and leads again: it keeps its slot
    // when that is within the limit (true), with no hand-off and no wake-up
    // (a release and an acquire would wake a waiter only for it to find the
    // slot taken again); otherwise it gives the slot back (false: acquire).
    bool keep(std::size_t worker);

    // Slots held now, beyond-the-limit ones included (tests).
    std::size_t held() const;

  private:
    // Under m_: the holders that have served for `patience` or longer, and
    // in `next` when the next of the others will have (max(): none serves).
    std::size_t stuck(Clock::time_point now, Clock::time_point& next) const;
    std::size_t slots_;
    std::chrono::milliseconds patience_;
    mutable std::mutex m_;
    std::condition_variable cv_;
    std::size_t held_ = 0;
    std::size_t serving_ = 0;
    std::size_t waiting_ = 0;
    bool timed_waiter_ = false;             // a waiter watches the oldest holder's time
    std::vector<Clock::time_point> since_;  // per worker: serving since (max(): not serving)
};

}  // namespace fu::fcgi
