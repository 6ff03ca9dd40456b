// SQL of table login_throttle. MariaDB applies the assignments of ON
// DUPLICATE KEY UPDATE left to right, each seeing the ones before it: the
// order of record_failure's assignments is part of its meaning.
#include "store/throttle_store.h"

#include <algorithm>

#include "store/user_row.h"
#include "wrap/mariadb.h"

namespace fu {
namespace {

long long wait_of(const std::optional<std::string>& micros) {
    long long us = micros ? std::stoll(*micros) : 0;
    return us > 0 ? (us + 999) / 1000 : 0;
}

}  // namespace

// The account's key is made here, from the user row the lookup finds (its
// email_key) or, for an address without an account, from the address as that
// lookup reads it: lower-cased by MariaDB, trailing spaces dropped (the
// comparison pads with spaces). So every spelling that reaches an account
// (upper case, a Kelvin sign for a k, trailing spaces) counts against that
// one account, and the key can never disagree with the lookup. It is
// base64url(SHA-256("account:" + that text)), as sql/admin.sql writes it.
//
// login_throttle is read by its primary key only (an equality per key), so
// a login reads at most the two rows of its own keys however many rows
// others' failures left there: anyone can fill the table (a failed login to
// a new address adds a row), and a condition the index cannot serve made
// every login scan all of it (IF() in an IN list did: 8 ms of MariaDB's CPU
// per login at 10 000 rows). One row per key found, or one row without
// them; the wait and whether the account is counted are read here.
Result<LoginLookup, db::DbError> ThrottleStore::lookup_login(std::string_view email,
                                                             bool count_account,
                                                             std::string_view address) {
    auto r = conn_.exec(
        "SELECT x.id, x.email, x.hashed_password, x.is_active, x.is_superuser, x.is_verified, "
        "x.session_generation, x.account, t.k, "
        "TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), t.blocked_until) FROM "
        "(SELECT u.id, u.email, u.hashed_password, u.is_active, u.is_superuser, u.is_verified, "
        "u.session_generation, TRIM(TRAILING '=' FROM REPLACE(REPLACE(TO_BASE64(UNHEX(SHA2("
        "CONCAT('account:', RTRIM(COALESCE(u.email_key, " FU_EMAIL_KEY
        "))), 256))), "
        "'+', '-'), '/', '_')) AS account "
        "FROM (SELECT 1) one LEFT JOIN user u ON u.email_key = " FU_EMAIL_KEY
        ") x "
        "LEFT JOIN login_throttle t ON t.k IN (x.account, ?)",
        {email, email, address});
    if (!r) return r.error();
    LoginLookup out;
    if (r->rows.empty()) return out;
    const db::Row& first = r->rows.front();
    if (first[0]) {  // columns 0-5 as every user SELECT reads them
        out.user = to_user(first);
        out.generation = std::stoll(first[6].value_or("0"));
    }
    out.account_key = first[7].value_or("");
    for (const db::Row& row : r->rows) {
        if (!row[8]) continue;  // no row of either key
        const bool by_account = count_account && *row[8] == out.account_key;
        if (by_account) out.account_counted = true;
        if (by_account || *row[8] == address) out.wait_ms = std::max(out.wait_ms, wait_of(row[9]));
    }
    return out;
}

Result<long long, db::DbError> ThrottleStore::wait_ms(std::string_view key) {
    auto r = conn_.exec(
        "SELECT MAX(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), blocked_until)) "
        "FROM login_throttle WHERE k = ?",
        {key});
    if (!r) return r.error();
    return r->rows.empty() ? 0 : wait_of(r->rows[0][0]);
}

// The count is the statement's LAST_INSERT_ID(expr), set where it
// increments the count under the row's lock. The window restarts
// when it has ended (failures back to 1, then window_start, which reads the
// new failures: assignments run left to right). blocked_until stays NULL,
// so the purge takes the row once its window has passed.
Result<long long, db::DbError> ThrottleStore::count(std::string_view key, long window_seconds) {
    auto r = conn_.exec(
        "INSERT INTO login_throttle (k, threshold, failures, window_start) "
        "VALUES (?, 0, LAST_INSERT_ID(1), UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE "
        "failures = LAST_INSERT_ID(IF(window_start < UTC_TIMESTAMP(3) - INTERVAL ? SECOND, 1, "
        "failures + 1)), window_start = IF(failures = 1, UTC_TIMESTAMP(3), window_start)",
        {key, static_cast<long long>(window_seconds)});
    if (!r) return r.error();
    // The statement's OK packet carries LAST_INSERT_ID(expr): no second
    // statement, which a reconnect in between would have answered with 0.
    return static_cast<long long>(r->insert_id);
}

Result<Unit, db::DbError> ThrottleStore::record_failure(const std::vector<ThrottleKey>& keys,
                                                        long window_seconds,
                                                        long first_wait_seconds) {
    std::string sql =
        "INSERT INTO login_throttle (k, threshold, failures, window_start, blocked_until) VALUES ";
    std::vector<db::Param> params;
    const long long window = window_seconds, first = first_wait_seconds;
    for (const auto& k : keys) {
        if (k.key.empty() || k.threshold <= 0) continue;
        if (!params.empty()) sql += ", ";
        sql +=
            "(?, ?, 1, UTC_TIMESTAMP(3), IF(? <= 1, UTC_TIMESTAMP(3) + INTERVAL ? SECOND, NULL))";
        params.insert(params.end(), {std::string_view(k.key), static_cast<long long>(k.threshold),
                                     static_cast<long long>(k.threshold), first});
    }
    if (params.empty()) return Unit{};
    // A window that has ended starts again as if the row were new (the
    // inserted values); else one more failure, and from the threshold on a
    // wait that doubles with each failure, capped by the window's end.
    sql +=
        " ON DUPLICATE KEY UPDATE "
        "blocked_until = IF(window_start <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND, "
        "VALUES(blocked_until), "
        "IF(failures + 1 >= VALUES(threshold), LEAST(window_start + INTERVAL ? SECOND, "
        "UTC_TIMESTAMP(3) + INTERVAL (? << LEAST(failures + 1 - VALUES(threshold), 20)) SECOND), "
        "NULL)), "
        "failures = IF(window_start <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND, 1, failures + 1), "
        "threshold = VALUES(threshold), "
        "window_start = IF(window_start <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND, UTC_TIMESTAMP(3), "
        "window_start)";
    params.insert(params.end(), {window, window, first, window, window});
    auto r = conn_.exec(sql, params);
    if (!r) return r.error();
    return Unit{};
}

Result<Unit, db::DbError> ThrottleStore::clear(std::string_view key) {
    auto r = conn_.exec("DELETE FROM login_throttle WHERE k = ?", {key});
    if (!r) return r.error();
    return Unit{};
}

}  // namespace fu
