// The argon2id ceiling: hashes per second with the given parameters on as
// many threads as fcgi-users has hash slots, through the same PasswordHasher.
// Usage: bench_argon2_rate MEMORY_KIB ITERATIONS THREADS SECONDS
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "users/password.h"

int main(int argc, char** argv) {
    if (argc != 5 || sodium_init() < 0) return 2;
    long threads = std::atol(argv[3]);
    fu::PasswordHasher hasher(std::atol(argv[1]), std::atol(argv[2]), threads);
    std::atomic<long> done{0};
    std::atomic<bool> stop{false};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (long i = 0; i < threads; ++i)
        pool.emplace_back([&] {
            while (!stop.load()) {
                (void)hasher.hash("a password of ordinary length");
                done.fetch_add(1);
            }
        });
    std::this_thread::sleep_for(std::chrono::seconds(std::atol(argv[4])));
    stop.store(true);
    for (auto& t : pool) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%.1f\n", static_cast<double>(done.load()) / secs);
}
