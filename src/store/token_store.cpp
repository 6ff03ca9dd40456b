#include "store/token_store.h"

#include "wrap/mariadb.h"

namespace fu {

Result<Unit, db::DbError> TokenStore::create(std::string_view token_hash, std::string_view user_id) {
    auto r = conn_.exec("INSERT INTO accesstoken (token, created_at, user_id) VALUES (?, UTC_TIMESTAMP(6), ?)",
                        {token_hash, user_id});
    if (!r) return r.error();
    return Unit{};
}

Result<std::optional<std::string>, db::DbError> TokenStore::find_user_id(std::string_view token_hash,
                                                                        long max_age_seconds) {
    auto r = conn_.exec("SELECT user_id FROM accesstoken WHERE token = ? "
                        "AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
                        {token_hash, static_cast<long long>(max_age_seconds)});
    if (!r) return r.error();
    if (r->rows.empty()) return std::optional<std::string>{};
    return r->rows.front()[0];
}

Result<Unit, db::DbError> TokenStore::remove(std::string_view token_hash) {
    auto r = conn_.exec("DELETE FROM accesstoken WHERE token = ?", {token_hash});
    if (!r) return r.error();
    return Unit{};
}

}  // namespace fu
