// SQL of sessions that end: the hot path's statement, revoked ids, the
// ending of a user's sessions and the purge of what has expired.
#include "store/session_store.h"

#include "store/user_row.h"
#include "wrap/mariadb.h"

namespace fu {

Result<std::optional<SessionUser>, db::DbError> SessionStore::find_user(std::string_view id,
                                                                        std::string_view id1,
                                                                        std::string_view id2) {
    // No subquery here: one on revoked_token cost MariaDB ~30 us of CPU per
    // request (bench/query_cost), even for users who never revoked anything.
    // The row says whether the user has a revoked id that can still matter.
    auto r = conn_.exec(
        "SELECT id, email, hashed_password, is_active, is_superuser, is_verified, "
        "session_generation, session_kept, sessions_ended_ms, "
        "tokens_revoked_until >= UNIX_TIMESTAMP() FROM user WHERE id = ?",
        {id});
    if (!r) return r.error();
    auto user = to_user(*r);
    if (!user) return std::optional<SessionUser>{};
    const db::Row& row = r->rows.front();
    SessionUser s;
    s.user = std::move(*user);
    s.generation = std::stoll(row[6].value_or("0"));
    s.kept = row[7];
    if (row[8]) s.ended_ms = std::stoll(*row[8]);
    if (row[9].value_or("0") != "0" && (!id1.empty() || !id2.empty())) {
        // Only users with a live revocation pay this second statement.
        auto rev = conn_.exec("SELECT 1 FROM revoked_token WHERE id IN (?, ?) LIMIT 1", {id1, id2});
        if (!rev) return rev.error();
        s.revoked = !rev->rows.empty();
    }
    return std::optional<SessionUser>{std::move(s)};
}

Result<std::optional<long long>, db::DbError> SessionStore::generation(std::string_view user_id) {
    auto r = conn_.exec("SELECT session_generation FROM user WHERE id = ?", {user_id});
    if (!r) return r.error();
    if (r->rows.empty()) return std::optional<long long>{};
    return std::optional<long long>{std::stoll(r->rows[0][0].value_or("0"))};
}

Result<Unit, db::DbError> SessionStore::revoke(std::string_view user_id, std::string_view id,
                                               long long until_unix) {
    // The user's marker first: a reader that sees the row also looks it up.
    auto u = conn_.exec(
        "UPDATE user SET tokens_revoked_until = GREATEST(COALESCE(tokens_revoked_until, 0), ?) "
        "WHERE id = ?",
        {until_unix, user_id});
    if (!u) return u.error();
    auto r = conn_.exec(
        "INSERT INTO revoked_token (id, expires_at) VALUES (?, FROM_UNIXTIME(?)) "
        "ON DUPLICATE KEY UPDATE expires_at = GREATEST(expires_at, VALUES(expires_at))",
        {id, until_unix});
    if (!r) return r.error();
    return Unit{};
}

Result<Unit, db::DbError> end_sessions(db::Connection& conn, std::string_view user_id,
                                       const SessionKeep& keep) {
    db::Param kept = keep.sid.empty() ? db::Param(nullptr) : db::Param(std::string_view(keep.sid));
    auto u = conn.exec(
        "UPDATE user SET session_generation = session_generation + 1, session_kept = ?, "
        "sessions_ended_ms = CAST(UNIX_TIMESTAMP(UTC_TIMESTAMP(3)) * 1000 AS SIGNED) "
        "WHERE id = ?",
        {kept, user_id});
    if (!u) return u.error();
    auto d = conn.exec("DELETE FROM accesstoken WHERE user_id = ? AND token <> ?",
                       {user_id, keep.token_hash});
    if (!d) return d.error();
    return Unit{};
}

Result<Unit, db::DbError> SessionStore::end_all(std::string_view user_id, const SessionKeep& keep) {
    return conn_.transaction([&](db::Begun& tx) -> Result<Unit, db::DbError> {
        if (!tx) return tx.error();
        if (auto r = end_sessions(conn_, user_id, keep); !r) return r.error();
        return tx->commit();
    });
}

Result<long long, db::DbError> SessionStore::purge(long throttle_window_seconds) {
    long long deleted = 0;
    const char* kSqls[] = {
        "DELETE FROM revoked_token WHERE expires_at < UTC_TIMESTAMP(3) LIMIT 1000",
        "DELETE FROM refresh_token WHERE expires_at < UTC_TIMESTAMP(3) LIMIT 1000",
        "DELETE FROM login_throttle WHERE window_start < UTC_TIMESTAMP(3) - INTERVAL ? SECOND "
        "AND (blocked_until IS NULL OR blocked_until < UTC_TIMESTAMP(3)) LIMIT 1000",
    };
    for (const char* sql : kSqls) {
        // In batches, so that no purge holds locks for long.
        for (;;) {
            auto r = std::string_view(sql).find('?') == std::string_view::npos
                         ? conn_.exec(sql)
                         : conn_.exec(sql, {static_cast<long long>(throttle_window_seconds)});
            if (!r) return r.error();
            deleted += static_cast<long long>(r->affected);
            if (r->affected < 1000) break;
        }
    }
    return deleted;
}

}  // namespace fu
