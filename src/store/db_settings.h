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
    s.statement_timeout = static_cast<double>(c.db_statement_timeout);
    // The client waits a little longer than the server's own limit, so that
    // the server's clear error comes first and a hung server is still bounded.
    if (c.db_statement_timeout > 0)
        s.read_timeout = static_cast<unsigned>(c.db_statement_timeout) + 2;
    return s;
}

}  // namespace fu
