// ReadBatch: the hot path's user-row reads of requests that arrive together,
// coalesced into one statement (group commit, for reads). A request queues
// its user id; when fewer than `leaders` reads are in flight it leads: it
// takes the queue (up to `max_batch` ids, its own first), runs one SELECT
// ... WHERE id IN (...) on its own connection and hands every waiter its row.
// A waiter joins only a read that has not started, so each row is read after
// its request arrived: a flag changed by SQL still counts on the very next
// request. Reads outside a transaction only (they run on another thread's
// connection). Shared by every worker thread.
#pragma once

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
    ReadBatch(std::size_t leaders, std::size_t max_batch);
    ReadBatch(const ReadBatch&) = delete;
    ReadBatch& operator=(const ReadBatch&) = delete;

    // The user `id` (lower-case UUID) with its session state, read by this
    // call or by a concurrent one on `conn` or another thread's connection.
    Found find_user(db::Connection& conn, std::string_view id);

    // Reads done and the statements they took (tests, metrics).
    struct Counts {
        unsigned long long reads = 0, statements = 0;
    };
    Counts counts() const;
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
    mutable std::mutex m_;
    std::deque<Waiter*> queue_;
    std::size_t leading_ = 0;
    Counts counts_;
};

}  // namespace fu
