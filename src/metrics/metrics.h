// Metrics: request counts by route and status, a latency histogram, and the
// hash queue, kept in one shard per thread (no counter shared by all
// threads on the hot path) and summed when /metrics is read.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/router.h"

namespace fu {

// Rare events of sessions that end, counted across all threads.
enum class SessionEvent { token_revoked, refresh_reuse, login_throttled, sessions_ended };

// How one run of a hook command ended (hooks/dispatcher.cpp).
enum class HookRun { done, failed, timed_out, cancelled, not_started };

class Metrics {
  public:
    static constexpr std::array<int, 15> kStatuses = {200, 201, 202, 204, 400, 401, 403, 404,
                                                      405, 408, 413, 422, 429, 500, 503};
    static constexpr std::array<double, 11> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,   0.1,   0.25,   0.5,   1.0};

    // shards: one per thread that records; routes: router.route_count().
    Metrics(size_t shards, const http::Router& router);

    // From thread `shard` only.
    void record(size_t shard, size_t route, int status, double seconds);
    void set_hash_queue(long length) { hash_queue_.store(length, std::memory_order_relaxed); }
    // From any thread (these are rare: no shard needed).
    void count(SessionEvent e) {
        events_[static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed);
    }
    // From the hook dispatcher's threads: its delivery slots, each run's end, the
    // events left failed for good, and the claims taken over from a host that
    // vanished before reporting (their command may have run twice).
    void set_hook_slots(long busy, long total) {
        hook_slots_busy_.store(busy, std::memory_order_relaxed);
        hook_slots_total_.store(total, std::memory_order_relaxed);
    }
    void count(HookRun r) {
        hook_runs_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    }
    void count_hook_given_up() { hook_given_up_.fetch_add(1, std::memory_order_relaxed); }
    void count_hook_takeovers(long n) { hook_takeovers_.fetch_add(n, std::memory_order_relaxed); }
    // From any thread: one failed accept(2), counted by its errno (EMFILE,
    // ENFILE, ENOMEM, ENOBUFS, ECONNABORTED, or "other").
    void count_accept_error(int err);
    // From the worker holding the accept lock: one FastCGI connection
    // accepted; and (any thread) the open ones waiting for their next request.
    void count_connection_accepted() {
        connections_accepted_.fetch_add(1, std::memory_order_relaxed);
    }
    void set_connections_waiting(long n) {
        connections_waiting_.store(n, std::memory_order_relaxed);
    }

    // The Prometheus text of everything counted so far.
    std::string exposition() const;

  private:
    struct Shard {
        explicit Shard(size_t routes) : counts((routes + 1) * (kStatuses.size() + 1)) {}
        std::vector<std::atomic<uint64_t>> counts;  // [route][status index]
        std::array<std::atomic<uint64_t>, kBuckets.size()> buckets{};
        std::atomic<uint64_t> micros_sum{0};
        std::atomic<uint64_t> count{0};
    };

    const http::Router& router_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::atomic<long> hash_queue_{0};
    std::array<std::atomic<uint64_t>, 4> events_{};
    std::atomic<long> hook_slots_busy_{0};
    std::atomic<long> hook_slots_total_{0};
    std::array<std::atomic<uint64_t>, 5> hook_runs_{};  // by HookRun
    std::atomic<uint64_t> hook_given_up_{0};
    std::atomic<uint64_t> hook_takeovers_{0};
    std::atomic<uint64_t> connections_accepted_{0};
    std::atomic<long> connections_waiting_{0};
    std::array<std::atomic<uint64_t>, 6>
        accept_errors_{};  // as kAcceptErrors in metrics.cpp, then other
};

}  // namespace fu
