// SQL of table hook_event: insert with a change, lease due rows, record outcomes.
#include "store/hook_event_store.h"

#include "wrap/cjson.h"
#include "wrap/mariadb.h"

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
                                                                         long lease_seconds) {
    auto due = conn_.exec(
        "SELECT id FROM hook_event WHERE done_at IS NULL AND failed_at IS NULL "
        "AND next_attempt_at <= UTC_TIMESTAMP(6) ORDER BY next_attempt_at, id LIMIT ?",
        {static_cast<long long>(limit)});
    if (!due) return due.error();
    std::vector<HookEventRow> out;
    for (const auto& row : due->rows) {
        long long id = std::stoll(row[0].value_or("0"));
        auto lease = conn_.exec(
            "UPDATE hook_event SET attempts = attempts + 1, "
            "next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND "
            "WHERE id = ? AND done_at IS NULL AND failed_at IS NULL "
            "AND next_attempt_at <= UTC_TIMESTAMP(6)",
            {static_cast<long long>(lease_seconds), id});
        if (!lease) return lease.error();
        if (lease->affected != 1) continue;  // another process took it
        auto r = conn_.exec(
            "SELECT event, user_id, user_email, token, attempts FROM hook_event WHERE id = ?",
            {id});
        if (!r) return r.error();
        if (r->rows.empty()) continue;
        const auto& f = r->rows.front();
        HookEventRow h;
        h.id = id;
        h.event.event = f[0].value_or("");
        h.event.user_id = f[1].value_or("");
        h.event.user_email = f[2].value_or("");
        h.event.token = f[3];
        // Rows written before tokens were sealed hold them in clear.
        if (f[3] && sodium::SecretBox::looks_sealed(*f[3])) {
            h.event.token = box_.open(*f[3]);
            h.token_unreadable = !h.event.token;
        }
        h.attempts = std::stol(f[4].value_or("0"));
        out.push_back(std::move(h));
    }
    return out;
}

Result<Unit, db::DbError> HookEventStore::mark_done(long long id) {
    auto r = conn_.exec(
        "UPDATE hook_event SET done_at = UTC_TIMESTAMP(6), token = NULL, last_exit_status = 0, "
        "last_error = NULL WHERE id = ?",
        {id});
    if (!r) return r.error();
    return Unit{};
}

Result<Unit, db::DbError> HookEventStore::mark_attempt_failed(
    long long id, int exit_status, std::string_view error_tail,
    std::optional<long> retry_in_seconds) {
    auto r = retry_in_seconds
                 ? conn_.exec(
                       "UPDATE hook_event SET last_exit_status = ?, last_error = ?, "
                       "next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND WHERE id = ?",
                       {static_cast<long long>(exit_status), error_tail,
                        static_cast<long long>(*retry_in_seconds), id})
                 : conn_.exec(
                       "UPDATE hook_event SET last_exit_status = ?, last_error = ?, token = NULL, "
                       "failed_at = UTC_TIMESTAMP(6) WHERE id = ?",
                       {static_cast<long long>(exit_status), error_tail, id});
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

Result<HookEventStore::Counts, db::DbError> HookEventStore::counts() {
    auto r = conn_.exec(
        "SELECT COALESCE(SUM(done_at IS NULL AND failed_at IS NULL), 0), "
        "COALESCE(SUM(failed_at IS NOT NULL), 0) FROM hook_event");
    if (!r) return r.error();
    Counts c;
    if (!r->rows.empty()) {
        c.pending = std::stoll(r->rows[0][0].value_or("0"));
        c.failed = std::stoll(r->rows[0][1].value_or("0"));
    }
    return c;
}

}  // namespace fu
