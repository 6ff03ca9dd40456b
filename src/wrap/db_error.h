// The database's failures as the layers above see them, without mysql.h.
#pragma once

#include <string_view>

namespace fu::db {

enum class DbError {
    unavailable,  // server gone, unreachable or shutting down: 503, reconnect next time
    duplicate,    // ER_DUP_ENTRY (1062)
    other,        // anything else: 500
};

// Whether an error (its code and its detail, which holds the server's error
// number) is a lost lock race: ER_LOCK_DEADLOCK (1213; Galera reports its
// certification conflicts so) or ER_LOCK_WAIT_TIMEOUT (1205). The transaction
// was rolled back; trying again later is safe.
inline bool is_lock_conflict(DbError code, std::string_view detail) {
    return code == DbError::other && (detail == "1213" || detail == "1205");
}

class Connection;

}  // namespace fu::db
