// Group reads of the hot path's user rows (see read_batch.h).
#include "store/read_batch.h"

#include <algorithm>
#include <vector>

namespace fu {
namespace {

// The users of `ids` in one statement on `conn`; an exception is an error.
Result<std::vector<SessionUser>, db::DbError> read_users(db::Connection& conn,
                                                         std::span<const std::string_view> ids) {
    try {
        return SessionStore::find_users(conn, ids);
    } catch (const std::exception& e) {
        return make_error(db::DbError::other, e.what());
    }
}

// What `users` (a statement's answer) says of the user `id`.
ReadBatch::Found answer_for(const Result<std::vector<SessionUser>, db::DbError>& users,
                            std::string_view id) {
    if (!users) return users.error();
    const SessionUser* row = SessionStore::row_of(*users, id);
    if (!row) return std::optional<SessionUser>{};
    return std::optional<SessionUser>{*row};
}

}  // namespace

ReadBatch::ReadBatch(std::size_t leaders, std::size_t max_batch, std::chrono::milliseconds max_wait)
    : leaders_(std::max<std::size_t>(leaders, 1)),
      max_batch_(std::clamp<std::size_t>(max_batch, 1, SessionStore::kMaxBatch)),
      max_wait_(max_wait) {}

ReadBatch::Found ReadBatch::find_user(db::Connection& conn, std::string_view id) {
    Waiter self{id, false, std::nullopt, {}};
    std::unique_lock lock(m_);
    queue_.push_back(&self);
    // A leader may take this read into its statement while we wait (then we
    // wait for that statement's answer), or a lead may free up.
    auto may_lead = [&] { return !self.taken && leading_ < leaders_; };
    if (!self.wake.wait_for(lock, max_wait_, [&] { return self.taken || may_lead(); })) {
        // The statements in flight are stuck: do not queue behind them.
        queue_.erase(std::find(queue_.begin(), queue_.end(), &self));
        ++counts_.reads;
        ++counts_.statements;
        ++counts_.alone;
        lock.unlock();
        std::string_view ids[] = {id};
        return answer_for(read_users(conn, ids), id);
    }
    self.wake.wait(lock, [&] { return self.found || may_lead(); });
    if (self.found) return std::move(*self.found);

    // Lead: this read first, then the oldest others, up to max_batch_.
    ++leading_;
    queue_.erase(std::find(queue_.begin(), queue_.end(), &self));
    self.taken = true;
    std::vector<Waiter*> batch{&self};
    while (batch.size() < max_batch_ && !queue_.empty()) {
        batch.push_back(queue_.front());
        batch.back()->taken = true;
        queue_.pop_front();
    }
    counts_.reads += batch.size();
    ++counts_.statements;
    lock.unlock();

    std::vector<std::string_view> ids;
    ids.reserve(batch.size());
    for (const Waiter* w : batch)
        if (std::find(ids.begin(), ids.end(), w->id) == ids.end()) ids.push_back(w->id);
    // Every waiter of the batch gets an answer, whatever happens here.
    auto users = read_users(conn, ids);

    lock.lock();
    // Each waiter is woken alone, not all of them: the batch's with their
    // answers, and the oldest still queued for the lead this statement frees.
    std::vector<Waiter*> woken;
    for (Waiter* w : batch) {
        w->found.emplace(answer_for(users, w->id));
        if (w != &self) woken.push_back(w);
    }
    --leading_;
    if (!queue_.empty()) woken.push_back(queue_.front());
    // Notified under the lock: a waiter returns (and its Waiter, on its
    // stack, is gone) only once it holds the lock after we let it go.
    for (Waiter* w : woken) w->wake.notify_one();
    Found mine = std::move(*self.found);
    lock.unlock();
    return mine;
}

std::size_t ReadBatch::waiting() const {
    std::lock_guard lock(m_);
    return queue_.size();
}

void ReadBatch::count_group(std::size_t reads) {
    std::lock_guard lock(m_);
    counts_.reads += reads;
    counts_.grouped += reads;
    ++counts_.statements;
}

ReadBatch::Counts ReadBatch::counts() const {
    std::lock_guard lock(m_);
    return counts_;
}

}  // namespace fu
