// ServeSlots: no more holders than slots while they lead or serve briefly,
// and one more for each holder that has served for the patience.
#include "fcgi/serve_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace fu::fcgi {
namespace {

using namespace std::chrono_literals;
constexpr auto kPatience = 50ms;

// acquire(worker) on its own thread; acquired() says whether it returned.
class Acquirer {
  public:
    Acquirer(ServeSlots& slots, std::size_t worker)
        : thread_([this, &slots, worker] {
              slots.acquire(worker);
              done_.store(true);
          }) {}
    ~Acquirer() { thread_.join(); }
    bool acquired() const { return done_.load(); }
    // Whether it returned within `limit`.
    bool acquired_within(std::chrono::milliseconds limit) const {
        auto until = std::chrono::steady_clock::now() + limit;
        while (!acquired() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(1ms);
        return acquired();
    }

  private:
    std::atomic<bool> done_{false};
    std::thread thread_;
};

TEST(ServeSlots, NoMoreHoldersThanSlotsWhileTheyLead) {
    ServeSlots slots(2, 3, kPatience);
    slots.acquire(0);
    slots.acquire(1);
    {
        Acquirer third(slots, 2);
        // Leading (waiting for requests) is never stuck, however long.
        EXPECT_FALSE(third.acquired_within(6 * kPatience));
        slots.release(0);
        EXPECT_TRUE(third.acquired_within(5000ms));
    }
    EXPECT_EQ(slots.held(), 2u);
}

TEST(ServeSlots, NoMoreHoldersThanSlotsWhileTheyServeBriefly) {
    ServeSlots slots(1, 2, 10s);
    slots.acquire(0);
    slots.serving(0);
    Acquirer second(slots, 1);
    EXPECT_FALSE(second.acquired_within(200ms));
    slots.release(0);
    EXPECT_TRUE(second.acquired_within(5000ms));
}

TEST(ServeSlots, AHolderServingPastThePatienceIsStoodInFor) {
    ServeSlots slots(1, 3, kPatience);
    slots.acquire(0);
    slots.serving(0);  // and stays so: a lock wait
    auto start = std::chrono::steady_clock::now();
    {
        Acquirer second(slots, 1);
        EXPECT_TRUE(second.acquired_within(5000ms));
        EXPECT_GE(std::chrono::steady_clock::now() - start, kPatience);
    }
    EXPECT_EQ(slots.held(), 2u);
    // One stuck holder buys one slot more, not more: the stand-in leads.
    {
        Acquirer third(slots, 2);
        EXPECT_FALSE(third.acquired_within(6 * kPatience));
        slots.serving(1);  // the stand-in serves, and gets stuck too
        EXPECT_TRUE(third.acquired_within(5000ms));
    }
    EXPECT_EQ(slots.held(), 3u);
    slots.release(0);
    slots.release(1);
    slots.release(2);
    EXPECT_EQ(slots.held(), 0u);
}

TEST(ServeSlots, AHolderDoneServingKeepsItsSlotWithinTheLimit) {
    ServeSlots slots(1, 2, 10s);
    slots.acquire(0);
    slots.serving(0);
    Acquirer second(slots, 1);
    EXPECT_TRUE(slots.keep(0));  // leads again, with no hand-off
    EXPECT_FALSE(second.acquired_within(200ms));
    EXPECT_EQ(slots.held(), 1u);
    slots.release(0);
    EXPECT_TRUE(second.acquired_within(5000ms));
}

TEST(ServeSlots, AKeptSlotsHolderThatGetsStuckIsStoodInFor) {
    ServeSlots slots(1, 2, kPatience);
    slots.acquire(0);
    slots.serving(0);
    ASSERT_TRUE(slots.keep(0));
    Acquirer second(slots, 1);
    EXPECT_FALSE(second.acquired_within(6 * kPatience));  // it leads: never stuck
    slots.serving(0);                                     // its next group, and a lock wait
    EXPECT_TRUE(second.acquired_within(5000ms));
    EXPECT_EQ(slots.held(), 2u);
}

TEST(ServeSlots, AStuckHolderDoneServingGivesBackTheSlotBeyondTheLimit) {
    ServeSlots slots(1, 3, kPatience);
    slots.acquire(0);
    slots.serving(0);  // stuck: a stand-in takes a slot beyond the limit
    {
        Acquirer second(slots, 1);
        EXPECT_TRUE(second.acquired_within(5000ms));
    }
    EXPECT_EQ(slots.held(), 2u);
    Acquirer third(slots, 2);
    EXPECT_FALSE(slots.keep(0));  // done: the stand-in leads, one slot is the limit
    EXPECT_EQ(slots.held(), 1u);
    EXPECT_FALSE(third.acquired_within(6 * kPatience));
    slots.release(1);
    EXPECT_TRUE(third.acquired_within(5000ms));
}

}  // namespace
}  // namespace fu::fcgi
