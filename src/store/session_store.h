// SessionStore: the SQL of sessions that end. The authenticated hot path's
// query (the user row with its session state and its revoked token ids: one
// statement on one table, for every user), revoking token ids (kept in the
// user row, see revoked_ids.h), and ending every session of a user
// (user.session_generation), which the user store also runs inside its own
// transactions. One per worker thread.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/user.h"
#include "store/revoked_ids.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {

class ReadBatch;

// A user row with what decides whether one of its access tokens still counts.
struct SessionUser {
    User user;
    long long generation = 0;           // user.session_generation
    std::optional<std::string> kept;    // the session that survived the last ending
    std::optional<long long> ended_ms;  // when sessions were last ended (Unix ms); never: nullopt
    std::string revoked_ids;            // user.revoked_ids (revoked_ids.h); none: empty
};

// Which of the user's sessions survive an ending: the JWT session id `sid`
// and the database token whose SHA-256 is `token_hash` (either empty). The
// session `sid` survives only if `alive` says it still counts in the user's
// state read under the ending's lock: an ending that committed while the
// request ran (after it was authenticated) must not be undone by keeping it.
struct SessionKeep {
    std::string sid;
    std::string token_hash;
    std::function<bool(const SessionUser&)> alive;
};

class SessionStore {
  public:
    // batch: where find_user reads (shared by the threads), or null: on conn.
    explicit SessionStore(db::Connection& conn, ReadBatch* batch = nullptr)
        : conn_(conn), batch_(batch) {}

    // The user `id` (lower-case UUID) with its session state and revoked
    // ids: one statement, reading the user row alone (or the rows of the
    // users that concurrent requests need, through the batch). Outside a
    // transaction only.
    Result<std::optional<SessionUser>, db::DbError> find_user(std::string_view id);
    // The users of `ids` (lower-case UUIDs, 1 to kMaxBatch of them) with
    // their session state, in one statement on `conn`: a row per id found,
    // in no particular order (ReadBatch's statement).
    static constexpr std::size_t kMaxBatch = 16;
    static Result<std::vector<SessionUser>, db::DbError> find_users(
        db::Connection& conn, std::span<const std::string_view> ids);
    // The same on this store's connection.
    Result<std::vector<SessionUser>, db::DbError> find_users(
        std::span<const std::string_view> ids) {
        return find_users(conn_, ids);
    }
    // The row of user `id` among `users` (ids compared as the column does,
    // ASCII case folded), or null.
    static const SessionUser* row_of(std::span<const SessionUser> users, std::string_view id);
    // Refuses the ids `ids` (valid ones, revoked_id_valid) of user
    // `user_id`'s tokens until their `until` (idempotent), in the user's row,
    // pruning the ids that have expired. When the row would hold more than
    // kMaxRevokedIds, ends all the user's sessions instead (which refuses
    // every token issued so far): `ended` says which happened.
    struct Revoked {
        bool ended = false;
    };
    Result<Revoked, db::DbError> revoke(std::string_view user_id, std::span<const RevokedId> ids);
    // Ends every session of `user_id` but `keep`'s (see end_sessions), on its own.
    Result<Unit, db::DbError> end_all(std::string_view user_id, const SessionKeep& keep);
    // Clears the revoked ids of rows whose ids have all expired, and deletes
    // expired refresh tokens and throttle rows; rows changed.
    Result<long long, db::DbError> purge(long throttle_window_seconds);

  private:
    db::Connection& conn_;
    ReadBatch* batch_;
};

// Ends every session of `user_id` but `keep`'s, on `conn` (inside the
// caller's transaction when there is one): the generation goes up by one, so
// every access JWT and refresh token issued before is refused; the user's
// database tokens but keep.token_hash are deleted.
Result<Unit, db::DbError> end_sessions(db::Connection& conn, std::string_view user_id,
                                       const SessionKeep& keep);

// Whether the caller's session (`caller`: a JWT's `alive`, a database token's
// `token_hash`) still counts for `user_id`, read under the user row's lock
// (inside the caller's transaction), so that no ending (a reset, a logout of
// every session, a deactivation) can commit between this check and the
// caller's write. true when `caller` names no session; false when the user
// is gone or no longer active (set so by SQL, say).
Result<bool, db::DbError> session_counts(db::Connection& conn, std::string_view user_id,
                                         const SessionKeep& caller);

}  // namespace fu
