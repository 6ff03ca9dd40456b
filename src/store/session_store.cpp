// SQL of sessions that end: the hot path's statement, revoked ids, the
// ending of a user's sessions and the purge of what has expired.
#include "store/session_store.h"

#include <algorithm>
#include <ctime>
#include <vector>

#include "store/in_list.h"
#include "store/read_batch.h"
#include "store/user_row.h"
#include "util/ascii.h"
#include "wrap/mariadb.h"

namespace fu {

namespace {

// The user row with its session state: the columns, then their reading.
#define FU_SESSION_USER_COLUMNS                                                              \
    "id, email, hashed_password, is_active, is_superuser, is_verified, session_generation, " \
    "session_kept, sessions_ended_ms, revoked_ids"

SessionUser to_session_user(const db::Row& row) {
    SessionUser s;
    s.user = to_user(row);
    s.generation = std::stoll(row[6].value_or("0"));
    s.kept = row[7];
    if (row[8]) s.ended_ms = std::stoll(*row[8]);
    s.revoked_ids = row[9].value_or("");
    return s;
}

std::optional<SessionUser> to_session_user(const db::Rows& rows) {
    if (rows.rows.empty()) return std::nullopt;
    return to_session_user(rows.rows.front());
}

// "SELECT ... WHERE id IN (?, ..., ?)", one text per number of ids.
const InListTexts kSelectIn("SELECT " FU_SESSION_USER_COLUMNS " FROM user WHERE id IN ", "",
                            SessionStore::kMaxBatch);

}  // namespace

Result<std::optional<SessionUser>, db::DbError> SessionStore::find_user(std::string_view id) {
    // The user row alone: a second table in this statement (a subquery or a
    // join on a table of revoked ids) cost MariaDB ~30 us of CPU per request
    // (bench/query_cost), and a second statement a round trip.
    if (batch_) return batch_->find_user(conn_, id);
    auto r = conn_.exec("SELECT " FU_SESSION_USER_COLUMNS " FROM user WHERE id = ?", {id});
    if (!r) return r.error();
    return to_session_user(*r);
}

Result<std::vector<SessionUser>, db::DbError> SessionStore::find_users(
    db::Connection& conn, std::span<const std::string_view> ids) {
    if (ids.empty() || ids.size() > kMaxBatch) return make_error(db::DbError::other, "batch size");
    std::vector<db::Param> params(ids.begin(), ids.end());
    auto r = conn.exec(kSelectIn(ids.size()), params);
    if (!r) return r.error();
    std::vector<SessionUser> users;
    users.reserve(r->rows.size());
    for (const db::Row& row : r->rows) users.push_back(to_session_user(row));
    return users;
}

const SessionUser* SessionStore::row_of(std::span<const SessionUser> users, std::string_view id) {
    auto same = [&](const SessionUser& u) { return ascii::iequals(u.user.id, id); };
    auto it = std::find_if(users.begin(), users.end(), same);
    return it == users.end() ? nullptr : &*it;
}

Result<SessionStore::Revoked, db::DbError> SessionStore::revoke(std::string_view user_id,
                                                                std::span<const RevokedId> ids) {
    return conn_.transaction([&](db::Begun& tx) -> Result<Revoked, db::DbError> {
        if (!tx) return tx.error();
        auto r = conn_.exec("SELECT revoked_ids FROM user WHERE id = ? FOR UPDATE", {user_id});
        if (!r) return r.error();
        if (r->rows.empty()) return Revoked{};  // the user is gone, and its tokens with it
        auto next = revoked_ids_add(r->rows[0][0].value_or(""), ids,
                                    static_cast<long long>(std::time(nullptr)));
        Revoked out;
        if (next) {
            db::Param text =
                next->text.empty() ? db::Param(nullptr) : db::Param(std::string_view(next->text));
            db::Param until = next->text.empty() ? db::Param(nullptr) : db::Param(next->until);
            auto u =
                conn_.exec("UPDATE user SET revoked_ids = ?, revoked_ids_until = ? WHERE id = ?",
                           {text, until, user_id});
            if (!u) return u.error();
        } else {
            // No room: ending every session refuses these ids' tokens too.
            if (auto e = end_sessions(conn_, user_id, SessionKeep{}); !e) return e.error();
            auto u = conn_.exec(
                "UPDATE user SET revoked_ids = NULL, revoked_ids_until = NULL WHERE id = ?",
                {user_id});
            if (!u) return u.error();
            out.ended = true;
        }
        if (auto c = tx->commit(); !c) return c.error();
        return out;
    });
}

namespace {

// The user's session state read under the row's lock (inside the caller's
// transaction); nullopt when the user is gone.
Result<std::optional<SessionUser>, db::DbError> locked_session_user(db::Connection& conn,
                                                                    std::string_view user_id) {
    auto r = conn.exec("SELECT " FU_SESSION_USER_COLUMNS " FROM user WHERE id = ? FOR UPDATE",
                       {user_id});
    if (!r) return r.error();
    return to_session_user(*r);
}

}  // namespace

Result<Unit, db::DbError> end_sessions(db::Connection& conn, std::string_view user_id,
                                       const SessionKeep& keep) {
    db::Param kept = nullptr;
    if (!keep.sid.empty() && keep.alive) {
        // Under the row's lock, so no other ending can slip in before ours.
        auto state = locked_session_user(conn, user_id);
        if (!state) return state.error();
        if (*state && keep.alive(**state)) kept = std::string_view(keep.sid);
    }
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

Result<bool, db::DbError> session_counts(db::Connection& conn, std::string_view user_id,
                                         const SessionKeep& caller) {
    if (!caller.alive && caller.token_hash.empty()) return true;
    auto locked = locked_session_user(conn, user_id);
    if (!locked) return locked.error();
    const std::optional<SessionUser>& state = *locked;
    if (!state || !state->user.is_active || (caller.alive && !caller.alive(*state))) return false;
    if (caller.token_hash.empty()) return true;
    // A locking read (the newest committed row, not the transaction's
    // snapshot), exclusive: end_sessions may delete around it next, and a
    // shared lock to be raised then could deadlock with a logout's delete.
    auto t = conn.exec("SELECT 1 FROM accesstoken WHERE token = ? AND user_id = ? FOR UPDATE",
                       {std::string_view(caller.token_hash), user_id});
    if (!t) return t.error();
    return !t->rows.empty();
}

Result<Unit, db::DbError> SessionStore::end_all(std::string_view user_id, const SessionKeep& keep) {
    return conn_.transaction([&](db::Begun& tx) -> Result<Unit, db::DbError> {
        if (!tx) return tx.error();
        if (auto r = end_sessions(conn_, user_id, keep); !r) return r.error();
        return tx->commit();
    });
}

Result<long long, db::DbError> SessionStore::purge(long throttle_window_seconds) {
    long long changed = 0;
    struct Purge {
        const char* sql;
        long long seconds;  // the statement's one parameter
    };
    const Purge kPurges[] = {
        {"UPDATE user SET revoked_ids = NULL, revoked_ids_until = NULL "
         "WHERE revoked_ids_until < UNIX_TIMESTAMP() - ? LIMIT 1000",
         kRevokedIdGrace},
        {"DELETE FROM refresh_token WHERE expires_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND "
         "LIMIT 1000",
         0},
        {"DELETE FROM login_throttle WHERE window_start < UTC_TIMESTAMP(3) - INTERVAL ? SECOND "
         "AND (blocked_until IS NULL OR blocked_until < UTC_TIMESTAMP(3)) LIMIT 1000",
         throttle_window_seconds},
    };
    for (const Purge& p : kPurges) {
        // In batches, so that no purge holds locks for long.
        for (;;) {
            auto r = conn_.exec(p.sql, {p.seconds});
            if (!r) return r.error();
            changed += static_cast<long long>(r->affected);
            if (r->affected < 1000) break;
        }
    }
    return changed;
}

}  // namespace fu
