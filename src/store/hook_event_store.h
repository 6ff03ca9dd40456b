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
#include "wrap/secret_box.h"

namespace fu {

struct HookEventRow {
    long long id = 0;
    HookEvent event;
    long attempts = 0;              // including the one just claimed
    bool token_unreadable = false;  // sealed under another key: event.token is empty
};

class HookEventStore {
  public:
    // Tokens are sealed with `box` when written and opened when claimed.
    HookEventStore(db::Connection& conn, sodium::SecretBox box)
        : conn_(conn), box_(std::move(box)) {}

    Result<Unit, db::DbError> insert(const HookEvent& ev);
    // Due rows (oldest first, at most `limit`), each leased for `lease_seconds`.
    Result<std::vector<HookEventRow>, db::DbError> claim_due(long limit, long lease_seconds);
    Result<Unit, db::DbError> mark_done(long long id);
    // Retried after `retry_in_seconds`, or failed for good when that is nullopt.
    Result<Unit, db::DbError> mark_attempt_failed(long long id, int exit_status,
                                                  std::string_view error_tail,
                                                  std::optional<long> retry_in_seconds);

    struct Counts {
        long long pending = 0;
        long long failed = 0;
    };
    Result<Counts, db::DbError> counts();

    // Deletes at most `limit` rows delivered more than `age_seconds` ago;
    // returns how many.
    Result<long long, db::DbError> purge_delivered(long age_seconds, long limit);

  private:
    db::Connection& conn_;
    sodium::SecretBox box_;
};

}  // namespace fu
