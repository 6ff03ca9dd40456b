// The database of scripts/test, for in-process tests of the store and the user
// manager: its settings come from the FCGI_USERS_* environment that
// scripts/test exports while its stack is up, but the schema is its own
// (FCGI_USERS_TEST_DB_NAME, migrated by scripts/test): the stack's processes
// claim due hook events and purge sessions in theirs, and must never take
// a row a test put there for itself. Without them (or without the database)
// every such test fails, saying so; none is skipped.
#pragma once

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "store/db_settings.h"
#include "store/stores.h"
#include "wrap/mariadb.h"

extern char** environ;

namespace fu::testdb {

inline std::map<std::string, std::string> environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (auto own = env.find("FCGI_USERS_TEST_DB_NAME"); own != env.end())
        env["FCGI_USERS_DB_NAME"] = own->second;
    return env;
}

// The configuration fcgi-users runs with on the test stack (hooks included).
inline const Config& config() {
    static const Config c = Config::load("", environment());
    return c;
}

// Runs body(i, *make()) on `threads` threads, each with its own objects from
// make() (a connection, as each server worker has), released together once
// all have connected.
template <typename Make, typename Body>
void at_once(int threads, Make make, Body body) {
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            DbThread db_thread;
            auto state = make();
            ready.fetch_add(1);
            while (ready.load() < threads) std::this_thread::yield();
            body(t, *state);
        });
    }
    for (auto& th : pool) th.join();
}

// A fixture whose SetUp fails the test unless the test database answers.
class DatabaseTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(std::getenv("FCGI_USERS_DB_SOCKET") || std::getenv("FCGI_USERS_DB_HOST"))
            << "this test needs the MariaDB of scripts/test (FCGI_USERS_DB_* are not set): run "
               "scripts/test";
        ASSERT_TRUE(std::getenv("FCGI_USERS_TEST_DB_NAME"))
            << "this test needs its own schema (FCGI_USERS_TEST_DB_NAME is not set), never the "
               "stack's, whose processes take rows: run scripts/test";
        ASSERT_GE(sodium_init(), 0);
        conn_ = std::make_unique<db::Connection>(db_settings(config()));
        auto up = conn_->ping();
        ASSERT_TRUE(up) << "the test database does not answer (MariaDB error " << up.error().detail
                        << ")";
    }

    // A fresh address no other test uses.
    static std::string unique_email(const std::string& prefix) {
        unsigned char b[6];
        randombytes_buf(b, sizeof b);
        static const char* hex = "0123456789abcdef";
        std::string tag;
        for (unsigned char c : b) {
            tag += hex[c >> 4];
            tag += hex[c & 15];
        }
        return prefix + "." + tag + "@camelot.bt";
    }

    // One SQL value, as text ("" for no row).
    std::string scalar(std::string_view sql, const std::vector<db::Param>& params = {}) {
        auto r = conn_->exec(sql, params);
        if (!r) {
            ADD_FAILURE() << "query failed: " << sql;
            return "";
        }
        if (r->rows.empty()) return "";
        return r->rows[0][0].value_or("NULL");
    }

    std::unique_ptr<db::Connection> conn_;
};

}  // namespace fu::testdb
