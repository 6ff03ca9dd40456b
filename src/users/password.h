// PasswordHasher: argon2id hashing and verification (libsodium), plus the
// hashes FastAPI Users writes (argon2 PHC strings, bcrypt $2b$), which verify
// and then need a rehash. Hashing runs under a semaphore of `slots`, so that
// a storm of logins never takes every worker thread. Thread-safe.
#pragma once

#include <optional>
#include <semaphore>
#include <string>
#include <string_view>

namespace fu {

class HashProcesses;

class PasswordHasher {
  public:
    PasswordHasher(long memory_kib, long iterations, long slots);

    // An argon2id PHC string with the configured parameters. Empty only when
    // memory could not be had (the caller answers 503).
    std::string hash(std::string_view password) const;

    struct Verdict {
        bool ok = false;
        bool needs_rehash = false;  // ok, but made with other parameters or another scheme
    };
    Verdict verify(std::string_view password, const std::string& hashed) const;

    // Costs what verify() costs, for a login with an unknown e-mail (timing).
    void verify_dummy(std::string_view password) const;

    long slots() const { return slots_count_; }

    // From now on hash and verify in `processes` (hash_process.h), here only
    // when a process cannot answer. Not thread-safe: call before serving.
    void hash_in(HashProcesses* processes) { processes_ = processes; }

  private:
    Verdict verify_unlimited(std::string_view password, const std::string& hashed) const;

    unsigned long long opslimit_;
    size_t memlimit_;
    long slots_count_;
    mutable std::counting_semaphore<4096> slots_;
    std::string dummy_hash_;
    HashProcesses* processes_ = nullptr;
};

// The algorithms themselves, on the calling thread (what a hash process runs).
// An argon2id PHC string; empty when memory could not be had.
std::string argon2id_hash(std::string_view password, unsigned long long opslimit, size_t memlimit);
PasswordHasher::Verdict verify_password(std::string_view password, const std::string& hashed,
                                        unsigned long long opslimit, size_t memlimit);

// Password policy: nullopt when acceptable, else a reason a person can read.
// Length counts characters (UTF-8 code points), as Python's len does.
std::optional<std::string> password_problem(std::string_view password, std::string_view email,
                                            long min_length, long max_length);

}  // namespace fu
