// The connection settings of the configured database (store/ only).
#pragma once

#include "config/config.h"
#include "wrap/mariadb.h"

namespace fu {

inline db::Settings db_settings(const Config& c) {
    db::Settings s;
    s.socket = c.db_socket;
    s.host = c.db_host;
    s.port = static_cast<unsigned>(c.db_port);
    s.user = c.db_user;
    s.password = c.db_password;
    s.database = c.db_name;
    return s;
}

}  // namespace fu
