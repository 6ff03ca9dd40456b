// The dispatcher's threads, woken and stopped from other threads at once:
// run it in the TSan build (FCGI_USERS_TSAN=ON) to check its locking. No
// database answers here, so the threads only wait and wake.
#include "hooks/dispatcher.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace fu::hooks {

TEST(Dispatcher, WakesAndStopFromManyThreadsAtOnce) {
    Config config;
    config.db_socket = "/nonexistent/fcgi-users-test.sock";
    config.db_user = "nobody";
    config.db_name = "none";
    config.hooks.concurrency = 4;
    config.hooks.retention_seconds = 0;
    for (int round = 0; round < 5; ++round) {
        Dispatcher d(config);
        d.start();
        std::vector<std::thread> wakers;
        for (int i = 0; i < 4; ++i)
            wakers.emplace_back([&d] {
                for (int n = 0; n < 200; ++n) d.wake();
            });
        for (auto& t : wakers) t.join();
        d.stop();
        d.wake();  // after stop: harmless
        d.stop();  // twice: harmless
    }
}

}  // namespace fu::hooks
