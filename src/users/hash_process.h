// HashProcesses: password hashing in child processes of its own, one per
// hash slot, each `program hash-helper NICE KEEP_MS` in a session of its own.
//
// Why a process: Linux schedules each session (autogroup) or service
// (cgroup) as one entity, and nice values only order threads within it. A
// hash thread at nice 10 inside fcgi-users yields to fcgi-users' workers
// but not to MariaDB or nginx: during a login storm the whole of
// fcgi-users' share went to argon2 while a token check's statement waited
// for MariaDB to be scheduled (bench/README, "Sixth round"). A helper in a
// session of its own sets its session's nice too, so every other process
// preempts hashing. A helper that dies is started again on next use; the
// request it was hashing for is hashed here instead (never an error).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "users/password.h"
#include "util/fd.h"

namespace fu {

class HashProcesses {
  public:
    // `count` helpers of `program` (a path of this fcgi-users binary), at nice
    // `nice` above the calling thread's (at most 19), their sessions at the
    // same value; each keeps its hash memory mapped between hashes and gives
    // it back after `keep_ms` without a request (users/hash_memory.h). One
    // that cannot be started is tried again on use, at most once a second.
    HashProcesses(std::string program, long count, long nice, long keep_ms = kKeepMs);

    // How long an idle helper keeps its hash memory, by default.
    static constexpr long kKeepMs = 5000;
    ~HashProcesses();  // closes every channel: each helper ends; reaps them
    HashProcesses(const HashProcesses&) = delete;
    HashProcesses& operator=(const HashProcesses&) = delete;

    // nullopt: no helper could answer (the caller hashes on its own thread).
    std::optional<std::string> hash(std::string_view password, unsigned long long opslimit,
                                    size_t memlimit);
    std::optional<PasswordHasher::Verdict> verify(std::string_view password,
                                                  const std::string& hashed,
                                                  unsigned long long opslimit, size_t memlimit);

    // The helpers' process ids (-1 for one not running), for tests.
    std::vector<pid_t> pids() const;

  private:
    struct Channel {
        Fd fd;
        pid_t pid = -1;
        std::chrono::steady_clock::time_point last_start{};
    };

    // One round trip on a free channel: the reply, or nullopt.
    std::optional<std::string> ask(const std::string& request);
    bool start(Channel& c);
    void end(Channel& c);

    std::string program_;
    long nice_;                 // the helpers' nice value, and their sessions'
    long keep_ms_;              // how long an idle helper keeps its hash memory
    mutable std::mutex mutex_;  // guards free_ and every channel's pid
    std::vector<Channel> channels_;
    std::deque<size_t> free_;  // taken in turn, so a dead helper is found soon
};

// What an idle helper does next, from whether its session's nice value is
// settled, whether it keeps hash memory and how many milliseconds are left
// of keep_ms: give the memory back now, or wait for a request at most
// `wait_ms` (then try the nice value again if it is not settled), or (-1)
// block in the read of the next request.
struct HelperIdleStep {
    bool give_back = false;
    long wait_ms = -1;
};
HelperIdleStep helper_idle_step(bool settled, bool kept, long left_ms);

// The helper's side (`fcgi-users hash-helper NICE KEEP_MS`, its channel on
// descriptor 3): sets its nice value and its session's to NICE, then
// answers requests until the server closes the channel, keeping its hash
// memory until KEEP_MS pass without a request.
int run_hash_helper(long nice, long keep_ms);

}  // namespace fu
