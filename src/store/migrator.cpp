// Applying sql/NNN_*.sql in order under a named lock, recording each in
// schema_migrations.
#include "store/migrator.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "store/db_settings.h"

namespace fu {
namespace {

std::vector<std::filesystem::path> migration_files(const std::string& dir) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (e.path().extension() == ".sql" && name.size() > 4 &&
            std::isdigit(static_cast<unsigned char>(name[0])))
            files.push_back(e.path());
    }
    if (ec) throw std::runtime_error("migrations_dir: cannot read '" + dir + "': " + ec.message());
    std::sort(files.begin(), files.end());
    return files;
}

void check(const Result<Unit, db::DbError>& r, const std::string& what) {
    if (!r)
        throw std::runtime_error(what + " failed (MariaDB error " + r.error().detail +
                                 ", see the log)");
}

}  // namespace

MigrationOutcome migrate(const Config& config) {
    db::Settings settings = db_settings(config);
    settings.multi_statements = true;
    settings.statement_timeout = 0;  // a migration may rebuild a large table
    settings.read_timeout = 30;
    db::Connection conn(std::move(settings));
    const std::string& dir = config.migrations_dir;
    auto files = migration_files(dir);
    if (files.empty())
        throw std::runtime_error("migrations_dir: no NNN_name.sql files in '" + dir + "'");
    auto lock = conn.exec("SELECT GET_LOCK('fcgi_users_migrate', 60)");
    if (!lock || lock->rows.empty() || lock->rows[0][0] != "1")
        throw std::runtime_error("could not take the migration lock (is the database up?)");
    check(conn.run("CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " name VARCHAR(255) NOT NULL PRIMARY KEY,"
                   " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
                   ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"),
          "creating schema_migrations");
    auto done = conn.exec("SELECT name FROM schema_migrations");
    if (!done) throw std::runtime_error("reading schema_migrations failed");
    std::set<std::string> applied;
    for (const auto& row : done->rows) applied.insert(row[0].value_or(""));

    MigrationOutcome out;
    for (const auto& f : files) {
        std::string name = f.filename().string();
        if (applied.count(name)) {
            out.already.push_back(name);
            continue;
        }
        std::ifstream in(f);
        std::string sql((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        check(conn.run(sql), "migration " + name);
        auto rec = conn.exec("INSERT INTO schema_migrations (name) VALUES (?)", {name});
        if (!rec) throw std::runtime_error("recording migration " + name + " failed");
        out.applied.push_back(name);
    }
    (void)conn.exec("SELECT RELEASE_LOCK('fcgi_users_migrate')");
    return out;
}

}  // namespace fu
