// SQL of table accesstoken (database strategy).
#include "store/token_store.h"

#include "store/in_list.h"
#include "store/session_store.h"
#include "store/user_row.h"
#include "wrap/mariadb.h"

namespace fu {

Result<bool, db::DbError> TokenStore::create(std::string_view token_hash, std::string_view user_id,
                                             long long generation) {
    // The user row is read under a shared lock, in the same statement as the
    // insert: an ending in progress (it holds the row's exclusive lock) is
    // waited for and then seen, and one that begins later waits for this
    // insert to commit, then deletes the token with the others.
    auto r = conn_.exec(
        "INSERT INTO accesstoken (token, created_at, user_id) "
        "SELECT ?, UTC_TIMESTAMP(6), id FROM user WHERE id = ? AND session_generation = ? "
        "LOCK IN SHARE MODE",
        {token_hash, user_id, generation});
    if (!r) return r.error();
    return r->affected == 1;
}

namespace {

#define FU_TOKEN_USER_COLUMNS \
    "u.id, u.email, u.hashed_password, u.is_active, u.is_superuser, u.is_verified"

// The group read: the token's hash after the user's columns.
const InListTexts kSelectIn("SELECT " FU_TOKEN_USER_COLUMNS
                            ", t.token FROM accesstoken t JOIN user u ON u.id = t.user_id "
                            "WHERE t.token IN ",
                            " AND t.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
                            SessionStore::kMaxBatch);

}  // namespace

Result<std::optional<User>, db::DbError> TokenStore::find_user(std::string_view token_hash,
                                                               long max_age_seconds) {
    auto r = conn_.exec("SELECT " FU_TOKEN_USER_COLUMNS
                        " FROM accesstoken t JOIN user u ON u.id = t.user_id WHERE t.token = ? "
                        "AND t.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
                        {token_hash, static_cast<long long>(max_age_seconds)});
    if (!r) return r.error();
    return to_user(*r);
}

Result<std::vector<std::pair<std::string, User>>, db::DbError> TokenStore::find_users(
    std::span<const std::string_view> token_hashes, long max_age_seconds) {
    if (token_hashes.empty() || token_hashes.size() > SessionStore::kMaxBatch)
        return make_error(db::DbError::other, "batch size");
    std::vector<db::Param> params(token_hashes.begin(), token_hashes.end());
    params.emplace_back(static_cast<long long>(max_age_seconds));
    auto r = conn_.exec(kSelectIn(token_hashes.size()), params);
    if (!r) return r.error();
    std::vector<std::pair<std::string, User>> users;
    users.reserve(r->rows.size());
    for (const db::Row& row : r->rows) users.emplace_back(row[6].value_or(""), to_user(row));
    return users;
}

Result<Unit, db::DbError> TokenStore::remove(std::string_view token_hash) {
    auto r = conn_.exec("DELETE FROM accesstoken WHERE token = ?", {token_hash});
    if (!r) return r.error();
    return Unit{};
}

}  // namespace fu
