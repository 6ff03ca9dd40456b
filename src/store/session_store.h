// SessionStore: the SQL of sessions that end. The authenticated hot path's
// query (the user row, its session state and whether the token's ids are
// revoked: one statement, two for a user with a live revoked id), revoked token ids (table
// revoked_token), and ending every session of a user (user.session_generation), which the user
// store also runs inside its own transactions. One per worker thread.
#pragma once

#include <optional>
#include <string>

#include "model/user.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {

// A user row with what decides whether one of its access tokens still counts.
struct SessionUser {
    User user;
    long long generation = 0;           // user.session_generation
    std::optional<std::string> kept;    // the session that survived the last ending
    std::optional<long long> ended_ms;  // when sessions were last ended (Unix ms); never: nullopt
    bool revoked = false;               // one of the ids asked about is revoked
};

// Which of the user's sessions survive an ending: the JWT session id
// `sid` and the database token whose SHA-256 is `token_hash` (either empty).
struct SessionKeep {
    std::string sid;
    std::string token_hash;
};

class SessionStore {
  public:
    explicit SessionStore(db::Connection& conn) : conn_(conn) {}

    // The user `id` (lower-case UUID), and whether `id1` or `id2` (token ids;
    // empty ones match nothing) are revoked: one statement, and a second one
    // only for a user with a revoked id that has not expired (the row's
    // tokens_revoked_until says so; most users never have one).
    Result<std::optional<SessionUser>, db::DbError> find_user(std::string_view id,
                                                              std::string_view id1,
                                                              std::string_view id2);
    // The user's session generation now (for a token issued without one at hand).
    Result<std::optional<long long>, db::DbError> generation(std::string_view user_id);
    // Refuses token id `id` of user `user_id`'s tokens until `until_unix`
    // seconds (idempotent), and marks the user as having a revoked id until then.
    Result<Unit, db::DbError> revoke(std::string_view user_id, std::string_view id,
                                     long long until_unix);
    // Ends every session of `user_id` but `keep`'s (see end_sessions), on its own.
    Result<Unit, db::DbError> end_all(std::string_view user_id, const SessionKeep& keep);
    // Deletes expired revoked ids, refresh tokens and throttle rows; rows deleted.
    Result<long long, db::DbError> purge(long throttle_window_seconds);

  private:
    db::Connection& conn_;
};

// Ends every session of `user_id` but `keep`'s, on `conn` (inside the
// caller's transaction when there is one): the generation goes up by one, so
// every access JWT and refresh token issued before is refused; the user's
// database tokens but keep.token_hash are deleted.
Result<Unit, db::DbError> end_sessions(db::Connection& conn, std::string_view user_id,
                                       const SessionKeep& keep);

}  // namespace fu
