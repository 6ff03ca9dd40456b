// What one statement of the hot path costs MariaDB: runs each candidate
// statement N times on one connection (one after another, as a worker does)
// and prints the server's CPU per execution (from /proc of MARIADB_PID, user
// and kernel) and the client's wall time per execution. CPU time hardly
// depends on what else the machine runs, so candidates compare fairly on a
// shared machine. Usage:
//   bench_query_cost SOCKET USER PASSWORD_FILE DATABASE MARIADB_PID N [NAME_PART]
// NAME_PART: only the candidates whose name contains it. BENCH_ISOLATION
// (e.g. READ COMMITTED): the connection's transaction isolation level.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "db_settings.h"
#include "wrap/mariadb.h"

namespace {

// utime + stime of a process, in seconds.
double cpu_seconds(long pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::istringstream rest(all.substr(all.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i)
        if (i == 14 || i == 15) ticks += std::atof(field.c_str());
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 7 && argc != 8) return 2;
    const std::string only = argc == 8 ? argv[7] : "";
    fu::db::Settings s = bench_db_settings(argv);
    long pid = std::atol(argv[5]);
    long n = std::atol(argv[6]);
    mysql_library_init(0, nullptr, nullptr);
    {
        fu::db::Connection c(s);
        if (const char* level = std::getenv("BENCH_ISOLATION"))
            if (!c.exec(std::string("SET SESSION TRANSACTION ISOLATION LEVEL ") + level)) return 1;
        auto ids = c.exec("SELECT id FROM user ORDER BY id LIMIT 1000");
        if (!ids || ids->rows.empty()) return 1;
        std::vector<std::string> users;
        for (auto& r : ids->rows) users.push_back(*r[0]);
        const std::string jti = "AAAAAAAAAAAAAAAAAAAAAA", sid = "BBBBBBBBBBBBBBBBBBBBBB";
        // The table of revoked ids that earlier versions looked up (migration
        // 007 dropped it), for this connection only, so the old candidates
        // still compare.
        if (!c.exec("CREATE TEMPORARY TABLE revoked_token (id VARCHAR(43) NOT NULL COLLATE "
                    "utf8mb4_bin PRIMARY KEY, expires_at DATETIME(3) NOT NULL)"))
            return 1;
        // Half the users with two revoked ids in their row, as after logouts.
        if (!c.exec("UPDATE user SET revoked_ids = CONCAT(LEFT(REPLACE(UUID(), '-', ''), 22), "
                    "':1900000000 ', LEFT(REPLACE(UUID(), '-', ''), 22), ':1900000000') "
                    "WHERE revoked_ids IS NULL AND CONV(LEFT(id, 1), 16, 10) % 2 = 0"))
            return 1;
        // The user table with its id in ascii_bin (a byte compare) instead of
        // utf8mb4_unicode_ci, for the candidate below; dropped at the end.
        if (!c.exec("DROP TABLE IF EXISTS bench_user_ascii_id") ||
            !c.exec("CREATE TABLE bench_user_ascii_id LIKE user") ||
            !c.exec("ALTER TABLE bench_user_ascii_id MODIFY id CHAR(36) CHARACTER SET ascii "
                    "COLLATE ascii_bin NOT NULL") ||
            !c.exec("INSERT INTO bench_user_ascii_id (id, email, hashed_password, is_active, "
                    "is_superuser, is_verified, session_generation, session_kept, "
                    "sessions_ended_ms, revoked_ids, revoked_ids_until) SELECT id, email, "
                    "hashed_password, is_active, is_superuser, is_verified, session_generation, "
                    "session_kept, sessions_ended_ms, revoked_ids, revoked_ids_until FROM user"))
            return 1;
        struct Candidate {
            const char* name;
            const char* sql;
            int params;  // 1: id; 3: jti, sid, id
        };
        const Candidate candidates[] = {
            {"SELECT 1 (round trip only)", "SELECT 1", 0},
            {"user row (6 columns, as before sessions)",
             "SELECT id, email, hashed_password, is_active, is_superuser, is_verified FROM user "
             "WHERE id = ?",
             1},
            {"user row + session state + EXISTS revoked (main)",
             "SELECT u.id, u.email, u.hashed_password, u.is_active, u.is_superuser, u.is_verified, "
             "u.session_generation, u.session_kept, u.sessions_ended_ms, "
             "EXISTS(SELECT 1 FROM revoked_token r WHERE r.id IN (?, ?)) "
             "FROM user u WHERE u.id = ?",
             3},
            {"same without hashed_password",
             "SELECT u.id, u.email, u.is_active, u.is_superuser, u.is_verified, "
             "u.session_generation, u.session_kept, u.sessions_ended_ms, "
             "EXISTS(SELECT 1 FROM revoked_token r WHERE r.id IN (?, ?)) "
             "FROM user u WHERE u.id = ?",
             3},
            {"same, revoked as LEFT JOIN",
             "SELECT u.id, u.email, u.is_active, u.is_superuser, u.is_verified, "
             "u.session_generation, u.session_kept, u.sessions_ended_ms, r.id "
             "FROM user u LEFT JOIN revoked_token r ON r.id IN (?, ?) WHERE u.id = ? LIMIT 1",
             3},
            {"same, revoked as two scalar subqueries",
             "SELECT u.id, u.email, u.is_active, u.is_superuser, u.is_verified, "
             "u.session_generation, u.session_kept, u.sessions_ended_ms, "
             "(SELECT 1 FROM revoked_token r WHERE r.id = ?), "
             "(SELECT 1 FROM revoked_token r WHERE r.id = ?) FROM user u WHERE u.id = ?",
             3},
            {"user row + session state + revoked ids in the row (007)",
             "SELECT id, email, hashed_password, is_active, is_superuser, is_verified, "
             "session_generation, session_kept, sessions_ended_ms, revoked_ids FROM user "
             "WHERE id = ?",
             1},
            {"007, the id column in ascii_bin",
             "SELECT id, email, hashed_password, is_active, is_superuser, is_verified, "
             "session_generation, session_kept, sessions_ended_ms, revoked_ids "
             "FROM bench_user_ascii_id WHERE id = ?",
             1},
            {"007 without hashed_password",
             "SELECT id, email, is_active, is_superuser, is_verified, "
             "session_generation, session_kept, sessions_ended_ms, revoked_ids FROM user "
             "WHERE id = ?",
             1},
            {"session state, no revoked lookup",
             "SELECT u.id, u.email, u.is_active, u.is_superuser, u.is_verified, "
             "u.session_generation, u.session_kept, u.sessions_ended_ms, ? IS NULL, ? IS NULL "
             "FROM user u WHERE u.id = ?",
             3},
            {"revoked lookup only when the user has a revocation",
             "SELECT u.id, u.email, u.is_active, u.is_superuser, u.is_verified, "
             "u.session_generation, u.session_kept, u.sessions_ended_ms, "
             "IF(u.sessions_ended_ms IS NOT NULL, "
             "EXISTS(SELECT 1 FROM revoked_token r WHERE r.id IN (?, ?)), 0) "
             "FROM user u WHERE u.id = ?",
             3},
            {"revoked as two const LEFT JOINs",
             "SELECT u.id, u.email, u.is_active, u.is_superuser, u.is_verified, "
             "u.session_generation, u.session_kept, u.sessions_ended_ms, "
             "r1.id IS NOT NULL OR r2.id IS NOT NULL FROM user u "
             "LEFT JOIN revoked_token r1 ON r1.id = ? LEFT JOIN revoked_token r2 ON r2.id = ? "
             "WHERE u.id = ?",
             3},
        };
        for (const auto& cand : candidates) {
            if (!only.empty() && std::string(cand.name).find(only) == std::string::npos) continue;
            for (int round = 0; round < 2; ++round) {  // the first round warms up
                double cpu0 = cpu_seconds(pid);
                auto t0 = std::chrono::steady_clock::now();
                for (long i = 0; i < n; ++i) {
                    std::string_view id = users[static_cast<size_t>(i) % users.size()];
                    auto r =
                        cand.params == 0 ? c.exec(cand.sql)
                        : cand.params == 1
                            ? c.exec(cand.sql, {id})
                            : c.exec(cand.sql, {std::string_view(jti), std::string_view(sid), id});
                    if (!r) return 1;
                }
                double wall =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                double cpu = cpu_seconds(pid) - cpu0;
                if (round == 1)
                    std::printf("%-52s server CPU %6.1f us  wall %6.1f us\n", cand.name,
                                cpu * 1e6 / static_cast<double>(n),
                                wall * 1e6 / static_cast<double>(n));
            }
        }
        (void)c.exec("DROP TABLE IF EXISTS bench_user_ascii_id");
    }
    mysql_library_end();
}
