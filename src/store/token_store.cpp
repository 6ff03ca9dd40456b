// SQL of table accesstoken (database strategy).
#include "store/token_store.h"

#include "store/user_row.h"

namespace fu {

Result<Unit, db::DbError> TokenStore::create(std::string_view token_hash,
                                             std::string_view user_id) {
    auto r = conn_.exec(
        "INSERT INTO accesstoken (token, created_at, user_id) VALUES (?, UTC_TIMESTAMP(6), ?)",
        {token_hash, user_id});
    if (!r) return r.error();
    return Unit{};
}

Result<std::optional<User>, db::DbError> TokenStore::find_user(std::string_view token_hash,
                                                               long max_age_seconds) {
    auto r = conn_.exec(
        "SELECT u.id, u.email, u.hashed_password, u.is_active, u.is_superuser, u.is_verified "
        "FROM accesstoken t JOIN user u ON u.id = t.user_id WHERE t.token = ? "
        "AND t.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
        {token_hash, static_cast<long long>(max_age_seconds)});
    if (!r) return r.error();
    return to_user(*r);
}

Result<Unit, db::DbError> TokenStore::remove(std::string_view token_hash) {
    auto r = conn_.exec("DELETE FROM accesstoken WHERE token = ?", {token_hash});
    if (!r) return r.error();
    return Unit{};
}

}  // namespace fu
