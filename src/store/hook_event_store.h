// HookEventStore: table hook_event, the durable queue of hook deliveries.
// Rows are claimed in one transaction with a lease (next_attempt_at pushed
// past the time-out) and a claim token, so several fcgi-users processes on one
// database never run a row twice at once; a claim whose holder never reported
// is taken over once its lease has passed.
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
    long timeouts = 0;              // earlier attempts that ran past hook.timeout
    bool token_unreadable = false;  // sealed under another key: event.token is empty
    bool taken_over = false;        // its last claim lapsed unreported: it may have run already
    std::string claim_token;        // this claim's; outcomes are written under it
};

class HookEventStore {
  public:
    // Tokens are sealed with `box` when written and opened when claimed.
    HookEventStore(db::Connection& conn, sodium::SecretBox box)
        : conn_(conn), box_(std::move(box)) {}

    Result<Unit, db::DbError> insert(const HookEvent& ev);
    // Due rows (oldest first, at most `limit`; none while an earlier event of
    // the same user is pending), claimed in one transaction
    // (SELECT ... FOR UPDATE SKIP LOCKED, then each row's lease), each leased
    // for `lease_seconds` under a new claim token and `owner` (host:pid, for
    // people). All or none: a failure leaves no row leased. A deadlock or lock
    // wait time-out (Galera's certification conflicts are reported as
    // deadlocks) is no error: nothing claimed now, another host has them.
    Result<std::vector<HookEventRow>, db::DbError> claim_due(long limit, long lease_seconds,
                                                             std::string_view owner);
    // Delivered: whoever holds the row now (a delivery is a fact).
    Result<Unit, db::DbError> mark_done(long long id);
    // Retried after `retry_in_seconds`, or failed for good when that is
    // nullopt; only under the row's claim (a lapsed claim's failure changes nothing).
    Result<Unit, db::DbError> mark_attempt_failed(const HookEventRow& row, int exit_status,
                                                  bool timed_out, std::string_view error_tail,
                                                  std::optional<long> retry_in_seconds);
    // The command was not run to its end (this process stops) or could not be
    // started for want of this process's resources: the attempt is not
    // counted and the row is due again in `after_seconds` (0: now, for the
    // next start or another host).
    Result<Unit, db::DbError> release(const HookEventRow& row, long after_seconds = 0);

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
