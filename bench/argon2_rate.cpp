// The argon2id ceiling: hashes per second with the given parameters on as
// many threads as fcgi-users has hash slots, through the same PasswordHasher
// (so on the same huge-page memory, kept from one hash to the next as a hash
// helper keeps it, users/hash_memory.h). With a fifth
// argument `libsodium`, libsodium's own mapping instead (small pages): the
// comparison the bench prints under the ceiling.
// Usage: bench_argon2_rate MEMORY_KIB ITERATIONS THREADS SECONDS [libsodium]
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "users/hash_memory.h"
#include "users/password.h"

int main(int argc, char** argv) {
    if (argc < 5 || argc > 6 || sodium_init() < 0) return 2;
    long threads = std::atol(argv[3]);
    const bool own_mapping = argc == 6 && std::string_view(argv[5]) == "libsodium";
    // Constructing a PasswordHasher turns the huge-page memory on (for the process).
    std::optional<fu::PasswordHasher> hasher;
    if (!own_mapping) hasher.emplace(std::atol(argv[1]), std::atol(argv[2]), threads);
    const auto ops = static_cast<unsigned long long>(std::atol(argv[2]));
    const auto mem = static_cast<size_t>(std::atol(argv[1])) * 1024;
    std::atomic<long> done{0};
    std::atomic<bool> stop{false};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (long i = 0; i < threads; ++i)
        pool.emplace_back([&] {
            // As a hash helper does: the hash memory kept from one hash to the next.
            if (hasher) fu::hash_memory::keep_for_this_thread();
            while (!stop.load()) {
                if (hasher)
                    (void)hasher->hash("a password of ordinary length");
                else
                    (void)fu::argon2id_hash("a password of ordinary length", ops, mem);
                done.fetch_add(1);
            }
        });
    std::this_thread::sleep_for(std::chrono::seconds(std::atol(argv[4])));
    stop.store(true);
    for (auto& t : pool) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%.1f\n", static_cast<double>(done.load()) / secs);
}
