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

// Every column of every row as the server sent it: NULL, empty, short, at
// the inline buffer's size (512 bytes), past it (fetched again whole), with
// a NUL byte, side by side in one row, over several rows.
TEST_F(ConnectionTest, ColumnsOfEveryLengthComeBackWhole) {
    db::Connection conn(db_settings(testdb::config()));
    auto r = conn.exec(
        "SELECT NULL, '', ?, REPEAT('a', 511), REPEAT('b', 512), REPEAT('c', 513), "
        "REPEAT('d', 70000), CONCAT('x', CHAR(0), 'y'), n FROM (SELECT 1 AS n UNION ALL "
        "SELECT 2 UNION ALL SELECT 3) AS t ORDER BY n",
        {std::string_view("short")});
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(r->rows.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        const db::Row& row = r->rows[i];
        ASSERT_EQ(row.size(), 9u);
        EXPECT_FALSE(row[0]);
        EXPECT_EQ(row[1], std::string());
        EXPECT_EQ(row[2], "short");
        EXPECT_EQ(row[3], std::string(511, 'a'));
        EXPECT_EQ(row[4], std::string(512, 'b'));
        EXPECT_EQ(row[5], std::string(513, 'c'));
        EXPECT_EQ(row[6], std::string(70000, 'd'));
        EXPECT_EQ(row[7], std::string("x\0y", 3));
        EXPECT_EQ(row[8], std::to_string(i + 1));
    }
}

}  // namespace
}  // namespace fu
