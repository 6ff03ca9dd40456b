// ReadBatch: the hot path's user-row reads of requests that arrive together,
// coalesced into one statement (group commit, for reads). A request queues
// its user id; when fewer than `leaders` reads are in flight it leads: it
// takes the queue (up to `max_batch` ids, its own first), runs one SELECT
// ... WHERE id IN (...) on its own connection and hands every waiter its row.
// A waiter joins only a read that has not started, so each row is read after
// its request arrived: a flag changed by SQL still counts on the very next
// request. A read that can neither lead nor join a statement within
// `max_wait` (the statements in flight are stuck: a table lock, an outage)
// reads alone on its own connection, so no request waits on another's
// statement for longer than that: each stays within db.statement_timeout
// plus `max_wait`. Reads outside a transaction only (they run on another
// thread's connection). Shared by every worker thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>

#include "store/session_store.h"

namespace fu {

class ReadBatch {
  public:
    using Found = Result<std::optional<SessionUser>, db::DbError>;
    static constexpr std::chrono::milliseconds kMaxWait{10};
    ReadBatch(std::size_t leaders, std::size_t max_batch,
              std::chrono::milliseconds max_wait = kMaxWait);
    ReadBatch(const ReadBatch&) = delete;
    ReadBatch& operator=(const ReadBatch&) = delete;

    // The user `id` (lower-case UUID) with its session state, read by this
    // call or by a concurrent one on `conn` or another thread's connection.
    Found find_user(db::Connection& conn, std::string_view id);

    // Reads done, the statements they took, the reads that waited
    // `max_wait` in vain and read alone, and the reads a worker did for a
    // group of requests it took together (tests, metrics).
    struct Counts {
        unsigned long long reads = 0, statements = 0, alone = 0, grouped = 0;
    };
    Counts counts() const;
    // A worker read `reads` requests' users in one statement of its own.
    void count_group(std::size_t reads);
    // Reads queued for the next statement now (tests).
    std::size_t waiting() const;

  private:
    struct Waiter {
        std::string_view id;
        bool taken = false;  // into a leader's statement
        std::optional<Found> found;
        std::condition_variable wake;  // found, or may lead
    };
    std::size_t leaders_;
    std::size_t max_batch_;
    std::chrono::milliseconds max_wait_;
    mutable std::mutex m_;
    std::deque<Waiter*> queue_;
    std::size_t leading_ = 0;
    Counts counts_;
};

}  // namespace fu
