// The database arguments the bench's MariaDB programs share:
// SOCKET USER PASSWORD_FILE DATABASE (argv[1] to argv[4]).
#pragma once

#include <fstream>
#include <string>

#include "wrap/mariadb.h"

inline fu::db::Settings bench_db_settings(char** argv) {
    std::ifstream pwf(argv[3]);
    std::string pw;
    std::getline(pwf, pw);
    fu::db::Settings s;
    s.socket = argv[1];
    s.user = argv[2];
    s.password = fu::SecretString(pw);
    s.database = argv[4];
    return s;
}
