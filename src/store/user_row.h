// The user columns every SELECT of the store reads, in this order, and their
// conversion to a User (store/ only).
#pragma once

#include <optional>

#include "model/user.h"
#include "wrap/mariadb.h"

namespace fu {

// SELECT id, email, hashed_password, is_active, is_superuser, is_verified
inline std::optional<User> to_user(const db::Rows& rows) {
    if (rows.rows.empty()) return std::nullopt;
    const db::Row& r = rows.rows.front();
    User u;
    u.id = r[0].value_or("");
    u.email = r[1].value_or("");
    u.hashed_password = r[2].value_or("");
    u.is_active = r[3].value_or("0") != "0";
    u.is_superuser = r[4].value_or("0") != "0";
    u.is_verified = r[5].value_or("0") != "0";
    return u;
}

}  // namespace fu
