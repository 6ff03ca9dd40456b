// TokenStore against the real MariaDB of scripts/test: a database token is
// written only within the session generation its login read with the user,
// so a session ending (a password change or reset, a deactivation,
// logout-all) that commits while the login hashes the password ends that
// token too, whichever of the two statements reaches the server first.
#include "store/token_store.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "test_database.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

using namespace std::chrono_literals;

class TokenStoreTest : public testdb::DatabaseTest {
  protected:
    void SetUp() override {
        testdb::DatabaseTest::SetUp();
        if (HasFatalFailure()) return;
        store_ = std::make_unique<TokenStore>(*conn_);
    }
    void TearDown() override {
        if (!conn_) return;
        for (const std::string& id : users_)
            (void)conn_->exec("DELETE FROM user WHERE id = ?", {std::string_view(id)});
    }

    std::string add_user() {
        users_.push_back(sodium::uuid4());
        auto r = conn_->exec(
            "INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified) "
            "VALUES (?, ?, 'hash-0', TRUE, FALSE, FALSE)",
            {std::string_view(users_.back()), unique_email("token")});
        EXPECT_TRUE(r) << r.error().detail;
        return users_.back();
    }

    long long generation(const std::string& id) {
        return std::stoll(
            scalar("SELECT session_generation FROM user WHERE id = ?", {std::string_view(id)}));
    }

    // Whether the token counts now (the hot path's own read).
    bool counts(const std::string& hash) {
        auto r = store_->find_user(hash, 3600);
        EXPECT_TRUE(r) << r.error().detail;
        return r && r->has_value();
    }

    static std::string new_hash() { return sodium::sha256_base64url(sodium::random_token(32)); }

    std::unique_ptr<TokenStore> store_;
    std::vector<std::string> users_;
};

TEST_F(TokenStoreTest, WritesATokenWithinTheGenerationItsUserWasReadIn) {
    std::string id = add_user();
    std::string hash = new_hash();
    auto written = store_->create(hash, id, generation(id));
    ASSERT_TRUE(written) << written.error().detail;
    EXPECT_TRUE(*written);
    EXPECT_TRUE(counts(hash));
}

TEST_F(TokenStoreTest, WritesNothingForAGenerationThatEndedOrAUserThatIsGone) {
    std::string id = add_user();
    long long read_at_login = generation(id);
    ASSERT_TRUE(end_sessions(*conn_, id, SessionKeep{}));
    std::string hash = new_hash();
    auto written = store_->create(hash, id, read_at_login);
    ASSERT_TRUE(written) << written.error().detail;
    EXPECT_FALSE(*written);
    EXPECT_FALSE(counts(hash));
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM accesstoken WHERE user_id = ?", {std::string_view(id)}),
              "0");

    // The next login reads the new generation, and its token counts.
    std::string next = new_hash();
    auto again = store_->create(next, id, generation(id));
    ASSERT_TRUE(again) << again.error().detail;
    EXPECT_TRUE(*again);
    EXPECT_TRUE(counts(next));

    std::string gone = sodium::uuid4();
    auto orphan = store_->create(new_hash(), gone, 0);
    ASSERT_TRUE(orphan) << orphan.error().detail;
    EXPECT_FALSE(*orphan);
}

// The ending runs in an open transaction on another connection (it has
// raised the generation and deleted the user's tokens, not yet committed)
// when the login writes its token. At READ COMMITTED a plain INSERT ...
// SELECT would read the last committed row without waiting, find the old
// generation and write a token the ending has already deleted around: the
// write must wait for the ending's lock instead, and then see it.
TEST_F(TokenStoreTest, AnEndingInProgressIsWaitedForAtAnyIsolationLevel) {
    for (const char* level : {"REPEATABLE READ", "READ COMMITTED"}) {
        SCOPED_TRACE(level);
        ASSERT_TRUE(conn_->exec(std::string("SET SESSION TRANSACTION ISOLATION LEVEL ") + level));
        std::string id = add_user();
        long long read_at_login = generation(id);
        std::string hash = new_hash();
        db::Connection ender(db_settings(testdb::config()));
        std::future<Result<bool, db::DbError>> write;
        auto ended = ender.transaction([&](db::Begun& tx) -> Result<Unit, db::DbError> {
            if (!tx) return tx.error();
            if (auto r = end_sessions(ender, id, SessionKeep{}); !r) return r.error();
            write = std::async(std::launch::async, [&] {
                DbThread db_thread;
                return store_->create(hash, id, read_at_login);
            });
            // The write waits for the row the ending holds.
            EXPECT_EQ(write.wait_for(300ms), std::future_status::timeout);
            return tx->commit();
        });
        ASSERT_TRUE(ended) << ended.error().detail;
        auto written = write.get();
        ASSERT_TRUE(written) << written.error().detail;
        EXPECT_FALSE(*written);
        EXPECT_FALSE(counts(hash));
    }
}

}  // namespace
}  // namespace fu
