// The user columns every SELECT of the store reads, in this order, and their
// conversion to a User (store/ only).
#pragma once

#include <optional>

#include "model/user.h"
#include "wrap/mariadb.h"

// An address as email_key holds it: lower-cased by the server under the same
// collation as the generated column, so that the two can never disagree
// (lower-casing in C++ would know only ASCII), then compared byte for byte
// (without the last COLLATE the explicit unicode_ci would win the comparison
// and fold accents again).
#define FU_EMAIL_KEY \
    "(LOWER(CONVERT(? USING utf8mb4) COLLATE utf8mb4_unicode_ci) COLLATE utf8mb4_bin)"

namespace fu {

// SELECT id, email, hashed_password, is_active, is_superuser, is_verified
inline User to_user(const db::Row& r) {
    User u;
    u.id = r[0].value_or("");
    u.email = r[1].value_or("");
    u.hashed_password = r[2].value_or("");
    u.is_active = r[3].value_or("0") != "0";
    u.is_superuser = r[4].value_or("0") != "0";
    u.is_verified = r[5].value_or("0") != "0";
    return u;
}

inline std::optional<User> to_user(const db::Rows& rows) {
    if (rows.rows.empty()) return std::nullopt;
    return to_user(rows.rows.front());
}

}  // namespace fu
