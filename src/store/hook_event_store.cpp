// SQL of table hook_event: insert with a change, lease due rows, record outcomes.
#include "store/hook_event_store.h"

#include "util/utf8.h"
#include "wrap/cjson.h"
#include "wrap/mariadb.h"
#include "wrap/sodium.h"

namespace fu {

Result<Unit, db::DbError> HookEventStore::insert(const HookEvent& ev) {
    json::Doc payload(cJSON_CreateObject());
    cJSON_AddStringToObject(payload.get(), "event", ev.event.c_str());
    cJSON_AddStringToObject(payload.get(), "user_id", ev.user_id.c_str());
    cJSON_AddStringToObject(payload.get(), "user_email", ev.user_email.c_str());
    std::string text = json::print(payload.get());
    // Sealed: a copy of the database (a backup, a replica) holds no usable token.
    std::optional<std::string> sealed;
    if (ev.token) sealed = box_.seal(*ev.token);
    db::Param token = sealed ? db::Param(std::string_view(*sealed)) : db::Param(nullptr);
    auto r = conn_.exec(
        "INSERT INTO hook_event (event, user_id, user_email, token, payload, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))",
        {ev.event, ev.user_id, ev.user_email, token, text});
    if (!r) return r.error();
    return Unit{};
}

Result<std::vector<HookEventRow>, db::DbError> HookEventStore::claim_due(long limit,
                                                                         long lease_seconds,
                                                                         std::string_view owner) {
    using Claimed = Result<std::vector<HookEventRow>, db::DbError>;
    auto nothing_on_conflict = [](const Error<db::DbError>& e) -> Claimed {
        if (db::is_lock_conflict(e.code, e.detail)) return std::vector<HookEventRow>{};
        return e;
    };
    return conn_.transaction([&](db::Begun& tx) -> Claimed {
        if (!tx) return tx.error();
        // SKIP LOCKED: rows another host is claiming right now are not waited for.
        // One user's events run in the order they happened (before_delete before
        // after_delete): a row waits while an earlier one of its user is pending
        // (ix_hook_event_user_pending finds that row without walking the user's
        // delivered ones).
        auto due = conn_.exec(
            "SELECT id, event, user_id, user_email, token, attempts, timeouts, "
            "claim_token IS NOT NULL FROM hook_event h WHERE done_at IS NULL AND failed_at IS NULL "
            "AND next_attempt_at <= UTC_TIMESTAMP(6) AND NOT EXISTS (SELECT 1 FROM hook_event e "
            "WHERE e.user_id = h.user_id AND e.id < h.id AND e.done_at IS NULL AND e.failed_at IS "
            "NULL) ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
            {static_cast<long long>(limit)});
        if (!due) return nothing_on_conflict(due.error());
        if (due->rows.empty()) return std::vector<HookEventRow>{};
        const std::string token = sodium::random_token(24);  // 32 characters
        std::vector<HookEventRow> out;
        for (const auto& f : due->rows) {
            HookEventRow h;
            h.id = std::stoll(f[0].value_or("0"));
            auto lease = conn_.exec(
                "UPDATE hook_event SET attempts = attempts + 1, "
                "next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND, claim_token = ?, "
                "claimed_by = ? WHERE id = ?",
                {static_cast<long long>(lease_seconds), token, owner, h.id});
            if (!lease) return nothing_on_conflict(lease.error());
            h.event.event = f[1].value_or("");
            h.event.user_id = f[2].value_or("");
            h.event.user_email = f[3].value_or("");
            h.event.token = f[4];
            // Rows written before tokens were sealed hold them in clear.
            if (f[4] && sodium::SecretBox::looks_sealed(*f[4])) {
                h.event.token = box_.open(*f[4]);
                h.token_unreadable = !h.event.token;
            }
            h.attempts = std::stol(f[5].value_or("0")) + 1;
            h.timeouts = std::stol(f[6].value_or("0"));
            h.taken_over = f[7].value_or("0") != "0";
            h.claim_token = token;
            out.push_back(std::move(h));
        }
        if (auto c = tx->commit(); !c) return nothing_on_conflict(c.error());
        return out;
    });
}

Result<Unit, db::DbError> HookEventStore::mark_done(long long id) {
    auto r = conn_.exec(
        "UPDATE hook_event SET done_at = UTC_TIMESTAMP(6), token = NULL, last_exit_status = 0, "
        "last_error = NULL, claim_token = NULL WHERE id = ? AND done_at IS NULL",
        {id});
    if (!r) return r.error();
    return Unit{};
}

Result<Unit, db::DbError> HookEventStore::mark_attempt_failed(
    const HookEventRow& row, int exit_status, bool timed_out, std::string_view error_tail,
    std::optional<long> retry_in_seconds) {
    const long long timeouts = row.timeouts + (timed_out ? 1 : 0);
    // A command's output is any bytes; the utf8mb4 column takes only UTF-8.
    const std::string error = utf8::scrubbed(error_tail);
    auto r = retry_in_seconds
                 ? conn_.exec(
                       "UPDATE hook_event SET last_exit_status = ?, last_error = ?, timeouts = ?, "
                       "claim_token = NULL, next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? "
                       "SECOND WHERE id = ? AND claim_token = ? AND done_at IS NULL",
                       {static_cast<long long>(exit_status), std::string_view(error), timeouts,
                        static_cast<long long>(*retry_in_seconds), row.id,
                        std::string_view(row.claim_token)})
                 : conn_.exec(
                       "UPDATE hook_event SET last_exit_status = ?, last_error = ?, timeouts = ?, "
                       "claim_token = NULL, token = NULL, failed_at = UTC_TIMESTAMP(6) "
                       "WHERE id = ? AND claim_token = ? AND done_at IS NULL",
                       {static_cast<long long>(exit_status), std::string_view(error), timeouts,
                        row.id, std::string_view(row.claim_token)});
    if (!r) return r.error();
    return Unit{};
}

Result<Unit, db::DbError> HookEventStore::release(const HookEventRow& row, long after_seconds) {
    auto r = conn_.exec(
        "UPDATE hook_event SET attempts = attempts - 1, "
        "next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND, "
        "claim_token = NULL WHERE id = ? AND claim_token = ? AND done_at IS NULL",
        {static_cast<long long>(after_seconds), row.id, std::string_view(row.claim_token)});
    if (!r) return r.error();
    return Unit{};
}

Result<long long, db::DbError> HookEventStore::purge_delivered(long age_seconds, long limit) {
    auto r = conn_.exec(
        "DELETE FROM hook_event WHERE done_at IS NOT NULL "
        "AND done_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND LIMIT ?",
        {static_cast<long long>(age_seconds), static_cast<long long>(limit)});
    if (!r) return r.error();
    return static_cast<long long>(r->affected);
}

// Only undelivered events fail (a retry clears failed_at), so both counts are
// among the rows not done: read through ix_hook_event_due, not the delivered
// events of the last days, which /metrics would otherwise scan at every
// scrape.
Result<HookEventStore::Counts, db::DbError> HookEventStore::counts() {
    auto r = conn_.exec(
        "SELECT COALESCE(SUM(failed_at IS NULL), 0), COALESCE(SUM(failed_at IS NOT NULL), 0) "
        "FROM hook_event WHERE done_at IS NULL");
    if (!r) return r.error();
    Counts c;
    if (!r->rows.empty()) {
        c.pending = std::stoll(r->rows[0][0].value_or("0"));
        c.failed = std::stoll(r->rows[0][1].value_or("0"));
    }
    return c;
}

}  // namespace fu
