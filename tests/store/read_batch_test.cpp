// ReadBatch against the real MariaDB of scripts/test: a read answers the row
// of its own user (or none), reads that queue while a statement runs share
// the next one, a change committed before a read is what it sees, an error
// reaches every read of the batch, and a read does not wait behind a stuck
// statement for longer than max_wait.
#include "store/read_batch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "test_database.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

using namespace std::chrono_literals;

// Long enough that a queued read never gives up waiting in these tests.
constexpr std::chrono::milliseconds kPatient = 30s;

// A connection whose statements give up after `seconds`.
std::unique_ptr<db::Connection> connection(double seconds = 0) {
    db::Settings s = db_settings(testdb::config());
    s.statement_timeout = seconds;
    return std::make_unique<db::Connection>(s);
}

class ReadBatchTest : public testdb::DatabaseTest {
  protected:
    // A new user row with the id `id` (a new one if empty); its id.
    std::string make_user(std::string id = {}) {
        if (id.empty()) id = sodium::uuid4();
        auto r = conn_->exec(
            "INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified) "
            "VALUES (?, ?, 'hash', 1, 0, 0)",
            {id, unique_email("batch")});
        EXPECT_TRUE(r) << "insert";
        return id;
    }

    // Waits until `done` holds (checked every ms, up to 10 s).
    template <typename F>
    static bool eventually(F done) {
        for (int i = 0; i < 10000 && !done(); ++i) std::this_thread::sleep_for(1ms);
        return done();
    }
};

TEST_F(ReadBatchTest, AReadAnswersItsOwnUserOrNone) {
    ReadBatch batch(2, SessionStore::kMaxBatch);
    std::string id = make_user();
    auto found = batch.find_user(*conn_, id);
    ASSERT_TRUE(found);
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->user.id, id);
    EXPECT_TRUE((*found)->user.is_active);

    auto none = batch.find_user(*conn_, sodium::uuid4());
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());

    // A row an administrator wrote in capitals is still found by the lower-case id.
    std::string upper = sodium::uuid4();
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    make_user(upper);
    std::string lower = upper;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    auto caps = batch.find_user(*conn_, lower);
    ASSERT_TRUE(caps && caps->has_value());
    EXPECT_EQ((*caps)->user.id, upper);
}

TEST_F(ReadBatchTest, ReadsThatQueueDuringAStatementShareTheNextAndEachGetsItsOwnRow) {
    ReadBatch batch(1, SessionStore::kMaxBatch, kPatient);
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) ids.push_back(make_user());
    ids.push_back(ids[1]);           // two requests of one user
    ids.push_back(sodium::uuid4());  // and one of nobody
    const int n = static_cast<int>(ids.size());

    // The table locked: the first read's statement waits, the others queue.
    auto locker = connection();
    ASSERT_TRUE(locker->run("LOCK TABLES user WRITE"));
    std::vector<std::optional<ReadBatch::Found>> found(n);
    std::vector<std::thread> threads;
    auto read = [&](int i) {
        DbThread db_thread;
        auto conn = connection();
        found[i].emplace(batch.find_user(*conn, ids[i]));
    };
    threads.emplace_back(read, 0);
    ASSERT_TRUE(eventually([&] { return batch.counts().statements == 1; }));
    for (int i = 1; i < n; ++i) threads.emplace_back(read, i);
    EXPECT_TRUE(eventually([&] { return batch.waiting() == static_cast<size_t>(n - 1); }));
    ASSERT_TRUE(locker->run("UNLOCK TABLES"));
    for (auto& t : threads) t.join();

    for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(found[i] && *found[i]) << i;
        if (i == n - 1) {
            EXPECT_FALSE((*found[i])->has_value());
        } else {
            ASSERT_TRUE((*found[i])->has_value()) << i;
            EXPECT_EQ((**found[i])->user.id, ids[i]);
        }
    }
    EXPECT_EQ(batch.counts().reads, static_cast<unsigned long long>(n));
    EXPECT_EQ(batch.counts().statements, 2u);
}

TEST_F(ReadBatchTest, AReadNeverJoinsAStatementThatStartedBeforeIt) {
    // A change committed while a statement runs, then a read: the read must
    // see the change, so it waits for a statement of its own.
    ReadBatch batch(1, SessionStore::kMaxBatch, kPatient);
    std::string first = make_user(), second = make_user();
    auto locker = connection();
    ASSERT_TRUE(locker->run("LOCK TABLES user WRITE"));
    std::optional<ReadBatch::Found> a, b;
    std::thread ta([&] {
        DbThread db_thread;
        auto conn = connection();
        a.emplace(batch.find_user(*conn, first));
    });
    ASSERT_TRUE(eventually([&] { return batch.counts().statements == 1; }));
    // The change, made under the lock by its holder, then the second read.
    ASSERT_TRUE(locker->exec("UPDATE user SET is_active = 0 WHERE id = ?", {second}));
    std::thread tb([&] {
        DbThread db_thread;
        auto conn = connection();
        b.emplace(batch.find_user(*conn, second));
    });
    EXPECT_TRUE(eventually([&] { return batch.waiting() == 1; }));
    ASSERT_TRUE(locker->run("UNLOCK TABLES"));
    ta.join();
    tb.join();
    ASSERT_TRUE(b && *b && (*b)->has_value());
    EXPECT_FALSE((**b)->user.is_active);
    EXPECT_EQ(batch.counts().statements, 2u);
}

TEST_F(ReadBatchTest, ManyThreadsEachGetTheirOwnUser) {
    ReadBatch batch(2, SessionStore::kMaxBatch);
    const int threads = 8, rounds = 200;
    std::vector<std::string> ids;
    for (int i = 0; i < threads; ++i) ids.push_back(make_user());
    std::atomic<int> wrong{0}, failed{0};
    testdb::at_once(
        threads, [] { return connection(); },
        [&](int t, db::Connection& conn) {
            for (int r = 0; r < rounds; ++r) {
                auto f = batch.find_user(conn, ids[t]);
                if (!f)
                    ++failed;
                else if (!f->has_value() || (*f)->user.id != ids[t])
                    ++wrong;
            }
        });
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(batch.counts().reads, static_cast<unsigned long long>(threads * rounds));
}

TEST_F(ReadBatchTest, AFailedStatementAnswersEveryReadOfItsBatchWithTheError) {
    ReadBatch batch(1, SessionStore::kMaxBatch);
    db::Settings nowhere = db_settings(testdb::config());
    nowhere.socket = "/nonexistent/mysqld.sock";
    nowhere.hosts.clear();
    nowhere.connect_timeout = 1;
    db::Connection broken(nowhere);
    auto f = batch.find_user(broken, make_user());
    EXPECT_FALSE(f);
    // The batch still serves the next read.
    std::string id = make_user();
    auto g = batch.find_user(*conn_, id);
    ASSERT_TRUE(g && g->has_value());
    EXPECT_EQ((*g)->user.id, id);
}

TEST_F(ReadBatchTest, AnErrorReachesEveryReadOfTheBatch) {
    // One statement at a time; the table locked. X leads and gives up after
    // 1 s; B, C and D queue meanwhile, and B leads them into a statement that
    // gives up too: all four get the error, none is left waiting.
    ReadBatch batch(1, SessionStore::kMaxBatch, kPatient);
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) ids.push_back(make_user());
    auto locker = connection();
    ASSERT_TRUE(locker->run("LOCK TABLES user WRITE"));
    std::vector<std::optional<ReadBatch::Found>> found(4);
    std::atomic<int> answered{0};
    auto read = [&](int i, double timeout) {
        DbThread db_thread;
        auto conn = connection(timeout);
        found[i].emplace(batch.find_user(*conn, ids[i]));
        ++answered;
    };
    std::vector<std::thread> threads;
    threads.emplace_back(read, 0, 1.0);
    ASSERT_TRUE(eventually([&] { return batch.counts().statements == 1; }));
    threads.emplace_back(read, 1, 1.0);
    ASSERT_TRUE(eventually([&] { return batch.waiting() == 1; }));
    threads.emplace_back(read, 2, 0.0);
    threads.emplace_back(read, 3, 0.0);
    ASSERT_TRUE(eventually([&] { return batch.waiting() == 3; }));
    // All four answered while the lock is still held.
    EXPECT_TRUE(eventually([&] { return answered.load() == 4; }));
    ASSERT_TRUE(locker->run("UNLOCK TABLES"));
    for (auto& t : threads) t.join();
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(found[i]) << i;
        EXPECT_FALSE(*found[i]) << i;
    }
    EXPECT_EQ(batch.counts().statements, 2u);
}

TEST_F(ReadBatchTest, AReadDoesNotQueueBehindAStuckStatementPastMaxWait) {
    // Two statements stuck on a lock for 5 s (both leads taken): a third
    // read waits 50 ms at most, then reads alone, on its own connection, and
    // gives up at its own statement timeout (1 s), not at theirs plus its own.
    ReadBatch batch(2, SessionStore::kMaxBatch, 50ms);
    std::string a = make_user(), b = make_user(), c = make_user();
    auto locker = connection();
    ASSERT_TRUE(locker->run("LOCK TABLES user WRITE"));
    std::optional<ReadBatch::Found> fa, fb, fc;
    auto read = [&](std::optional<ReadBatch::Found>& out, std::string id, double timeout) {
        DbThread db_thread;
        auto conn = connection(timeout);
        out.emplace(batch.find_user(*conn, id));
    };
    std::thread ta(read, std::ref(fa), a, 5.0), tb(read, std::ref(fb), b, 5.0);
    ASSERT_TRUE(eventually([&] { return batch.counts().statements == 2; }));
    auto start = std::chrono::steady_clock::now();
    std::thread tc(read, std::ref(fc), c, 1.0);
    tc.join();
    auto took = std::chrono::steady_clock::now() - start;
    // Its own 1 s, not the 5 s the two stuck statements had to run first.
    EXPECT_LT(took, 3500ms);
    ASSERT_TRUE(fc);
    EXPECT_FALSE(*fc);  // the lock still held: its statement timed out
    EXPECT_EQ(batch.counts().alone, 1u);
    ASSERT_TRUE(locker->run("UNLOCK TABLES"));
    ta.join();
    tb.join();
    // With the lock gone, reads are batched (or alone) and answered again.
    auto again = batch.find_user(*conn_, c);
    ASSERT_TRUE(again && again->has_value());
    EXPECT_EQ((*again)->user.id, c);
}

}  // namespace
}  // namespace fu
