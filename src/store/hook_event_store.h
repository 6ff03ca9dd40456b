// HookEventStore: table hook_event, the durable queue of hook deliveries.
// Rows are claimed with a lease (next_attempt_at pushed past the time-out),
// so several fcgi-users processes on one database never run a row twice at once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/hook_event.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {

struct HookEventRow {
    long long id = 0;
    HookEvent event;
    long attempts = 0;  // including the one just claimed
};

class HookEventStore {
public:
    explicit HookEventStore(db::Connection& conn) : conn_(conn) {}

    Result<Unit, db::DbError> insert(const HookEvent& ev);
    // Due rows (oldest first, at most `limit`), each leased for `lease_seconds`.
    Result<std::vector<HookEventRow>, db::DbError> claim_due(long limit, long lease_seconds);
    Result<Unit, db::DbError> mark_done(long long id);
    // Retried after `retry_in_seconds`, or failed for good when that is nullopt.
    Result<Unit, db::DbError> mark_attempt_failed(long long id, int exit_status, std::string_view error_tail,
                                                  std::optional<long> retry_in_seconds);

    struct Counts {
        long long pending = 0;
        long long failed = 0;
    };
    Result<Counts, db::DbError> counts();

private:
    db::Connection& conn_;
};

}  // namespace fu
