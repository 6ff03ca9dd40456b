// SQL of table refresh_token: issue, look up with the user row, rotate, revoke.
#include "store/refresh_token_store.h"

#include "store/user_row.h"
#include "wrap/mariadb.h"

namespace fu {

Result<Unit, db::DbError> RefreshTokenStore::create(std::string_view token_hash,
                                                    std::string_view family,
                                                    std::string_view user_id, long long generation,
                                                    long lifetime_seconds) {
    auto r = conn_.exec(
        "INSERT INTO refresh_token (token, family, user_id, generation, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL ? SECOND)",
        {token_hash, family, user_id, generation, static_cast<long long>(lifetime_seconds)});
    if (!r) return r.error();
    return Unit{};
}

Result<std::optional<RefreshRow>, db::DbError> RefreshTokenStore::find(
    std::string_view token_hash) {
    auto r = conn_.exec(
        "SELECT u.id, u.email, u.hashed_password, u.is_active, u.is_superuser, u.is_verified, "
        "t.family, t.generation, t.spent_at IS NOT NULL, t.revoked_at IS NOT NULL, "
        "t.expires_at <= UTC_TIMESTAMP(3), u.session_generation, u.session_kept "
        "FROM refresh_token t JOIN user u ON u.id = t.user_id WHERE t.token = ?",
        {token_hash});
    if (!r) return r.error();
    auto user = to_user(*r);
    if (!user) return std::optional<RefreshRow>{};
    const db::Row& row = r->rows.front();
    RefreshRow out;
    out.user = std::move(*user);
    out.family = row[6].value_or("");
    out.generation = std::stoll(row[7].value_or("0"));
    out.spent = row[8].value_or("0") != "0";
    out.revoked = row[9].value_or("0") != "0";
    out.expired = row[10].value_or("1") != "0";
    out.user_generation = std::stoll(row[11].value_or("0"));
    out.user_kept = row[12];
    return std::optional<RefreshRow>{std::move(out)};
}

Result<SpendOutcome, db::DbError> RefreshTokenStore::rotate(
    std::string_view token_hash, std::string_view next_hash, std::string_view family,
    std::string_view user_id, long long generation, long lifetime_seconds) {
    return conn_.transaction([&](db::Begun& tx) -> Result<SpendOutcome, db::DbError> {
        if (!tx) return tx.error();
        // The conditional UPDATE decides a race between two uses of one token.
        auto spend = conn_.exec(
            "UPDATE refresh_token SET spent_at = UTC_TIMESTAMP(3) "
            "WHERE token = ? AND spent_at IS NULL AND revoked_at IS NULL",
            {token_hash});
        if (!spend) return spend.error();
        if (spend->affected != 1) return SpendOutcome::already_spent;  // rolled back by tx
        if (auto r = create(next_hash, family, user_id, generation, lifetime_seconds); !r)
            return r.error();
        if (auto c = tx->commit(); !c) return c.error();
        return SpendOutcome::spent;
    });
}

Result<Unit, db::DbError> RefreshTokenStore::revoke_family(std::string_view family) {
    auto r = conn_.exec(
        "UPDATE refresh_token SET revoked_at = UTC_TIMESTAMP(3) WHERE family = ? AND revoked_at IS "
        "NULL",
        {family});
    if (!r) return r.error();
    return Unit{};
}

}  // namespace fu
