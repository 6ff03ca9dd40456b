// The database's failures as the layers above see them, without mysql.h.
#pragma once

namespace fu::db {

enum class DbError {
    unavailable,  // server gone, unreachable or shutting down: 503, reconnect next time
    duplicate,    // ER_DUP_ENTRY (1062)
    other,        // anything else: 500
};

class Connection;

}  // namespace fu::db
