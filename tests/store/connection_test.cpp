// db::Connection against the real MariaDB of scripts/test: a statement that
// waits on a lock longer than the statement timeout ends, once (not retried),
// as DbError::unavailable (503 to the client), and the connection serves the
// next statement.
#include <chrono>

#include "test_database.h"

namespace fu {
namespace {

class ConnectionTest : public testdb::DatabaseTest {};

TEST_F(ConnectionTest, AStatementWaitingOnALockEndsAtTheStatementTimeoutOnce) {
    db::Settings settings = db_settings(testdb::config());
    settings.statement_timeout = 1;
    settings.read_timeout = 3;
    db::Connection conn(settings);
    ASSERT_TRUE(conn.ping());

    db::Connection holder(db_settings(testdb::config()));
    ASSERT_TRUE(holder.run("LOCK TABLES user WRITE"));
    auto started = std::chrono::steady_clock::now();
    auto r = conn.exec("SELECT COUNT(*) FROM user");
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ASSERT_TRUE(holder.run("UNLOCK TABLES"));

    ASSERT_FALSE(r) << "the read did not wait for the lock";
    EXPECT_EQ(r.error().code, db::DbError::unavailable) << r.error().detail;
    EXPECT_GE(took, 0.9);
    EXPECT_LT(took, 1.9) << "waited past the timeout (retried?)";
    auto again = conn.exec("SELECT COUNT(*) FROM user");
    EXPECT_TRUE(again) << "the connection did not come back after the timeout";
}

}  // namespace
}  // namespace fu
