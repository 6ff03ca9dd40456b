// UserStore against the real MariaDB of scripts/test: each change touches only
// its own columns under its own condition, concurrent changes all stay, e-mails
// fold case and nothing else, and no path leaves a transaction open.
#include "store/user_store.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>

#include "store/oauth_account_store.h"
#include "test_database.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

const std::string kHookKey(32, 'h');  // seals hook tokens in these tests

class UserStoreTest : public testdb::DatabaseTest {
  protected:
    void SetUp() override {
        testdb::DatabaseTest::SetUp();
        if (HasFatalFailure()) return;
        hooks_ = std::make_unique<HookEventStore>(*conn_, sodium::SecretBox(kHookKey));
        store_ = std::make_unique<UserStore>(*conn_, *hooks_);
    }

    User make_user(const std::string& email, const std::string& hash = "hash-0") {
        User u;
        u.id = sodium::uuid4();
        u.email = email;
        u.hashed_password = hash;
        auto r = store_->create(u, {});
        EXPECT_TRUE(r) << "create " << email;
        return u;
    }

    User row(const std::string& id) {
        auto r = store_->get(id);
        EXPECT_TRUE(r && *r) << "no user " << id;
        return r && *r ? **r : User{};
    }

    void expect_no_open_transaction() {
        auto open = conn_->in_transaction();
        ASSERT_TRUE(open);
        EXPECT_FALSE(*open) << "a transaction was left open on the connection";
    }

    long events_for(const std::string& id, const char* event) {
        return std::stol(
            scalar("SELECT COUNT(*) FROM hook_event WHERE user_id = ? AND event = ?", {id, event}));
    }

    std::unique_ptr<HookEventStore> hooks_;
    std::unique_ptr<UserStore> store_;
};

// A worker's store over its own (connected) connection.
struct WorkerStore {
    WorkerStore()
        : conn(db_settings(testdb::config())),
          hooks(conn, sodium::SecretBox(kHookKey)),
          store(conn, hooks) {
        (void)conn.ping();
    }
    db::Connection conn;
    HookEventStore hooks;
    UserStore store;
};

template <typename F>
void at_once(int threads, F body) {
    testdb::at_once(
        threads, [] { return std::make_unique<WorkerStore>(); },
        [&](int t, WorkerStore& w) { body(t, w.store); });
}

TEST_F(UserStoreTest, SetPasswordWritesOnlyOverTheExpectedHash) {
    User u = make_user(unique_email("setpw"));
    auto stale = store_->set_password(u.id, "hash-1", "not-the-hash", false, {});
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, SetPasswordError::stale);
    EXPECT_EQ(row(u.id).hashed_password, "hash-0");
    expect_no_open_transaction();

    auto ok = store_->set_password(u.id, "hash-1", "hash-0", false, {"after_reset_password"});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->hashed_password, "hash-1");
    EXPECT_EQ(row(u.id).hashed_password, "hash-1");
    EXPECT_EQ(events_for(u.id, "after_reset_password"), 1);
}

TEST_F(UserStoreTest, ARehashWritesOnlyOverTheHashItVerified) {
    User u = make_user(unique_email("rehash"));
    ASSERT_TRUE(store_->set_password(u.id, "hash-changed", "hash-0", false, {}));
    auto late = store_->rehash_password(u.id, "hash-0-rehashed", "hash-0");
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, SetPasswordError::stale);
    EXPECT_EQ(row(u.id).hashed_password, "hash-changed");
    ASSERT_TRUE(store_->rehash_password(u.id, "hash-changed-rehashed", "hash-changed"));
    EXPECT_EQ(row(u.id).hashed_password, "hash-changed-rehashed");
}

TEST_F(UserStoreTest, SetPasswordOnlyIfActiveRefusesADeactivatedUser) {
    User u = make_user(unique_email("setpw-inactive"));
    ASSERT_TRUE(store_->admin_update(u.id, AdminChange{{}, false, std::nullopt, std::nullopt}, {}));
    auto r = store_->set_password(u.id, "hash-1", "hash-0", true, {"after_reset_password"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, SetPasswordError::stale);
    EXPECT_EQ(row(u.id).hashed_password, "hash-0");
    EXPECT_EQ(events_for(u.id, "after_reset_password"), 0);  // rolled back with the change
    expect_no_open_transaction();
}

TEST_F(UserStoreTest, SetPasswordFromTheSameHashAtOnceSucceedsOnce) {
    for (int round = 0; round < 15; ++round) {
        User u = make_user(unique_email("setpw-race"));
        std::atomic<int> won{0}, stale{0};
        at_once(4, [&](int t, UserStore& store) {
            auto r = store.set_password(u.id, "hash-new-" + std::to_string(t), "hash-0", true,
                                        {"after_reset_password"});
            if (r)
                won.fetch_add(1);
            else if (r.error().code == SetPasswordError::stale)
                stale.fetch_add(1);
        });
        EXPECT_EQ(won.load(), 1) << "round " << round;
        EXPECT_EQ(stale.load(), 3) << "round " << round;
        EXPECT_EQ(events_for(u.id, "after_reset_password"), 1) << "round " << round;
    }
}

TEST_F(UserStoreTest, MarkVerifiedSetsTheFlagOnlyWhileTheAddressIsTheTokens) {
    std::string email = unique_email("verify");
    User u = make_user(email);
    // Another letter case is the same address.
    std::string upper = email;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto ok = store_->mark_verified(u.id, upper, {"after_verify"});
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->is_verified);
    EXPECT_EQ(ok->hashed_password, "hash-0");
    EXPECT_EQ(events_for(u.id, "after_verify"), 1);

    auto again = store_->mark_verified(u.id, email, {"after_verify"});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, MarkVerifiedError::already_verified);

    User v = make_user(unique_email("verify-moved"));
    ASSERT_TRUE(
        store_->update_profile(v.id, ProfileChange{unique_email("verify-new"), std::nullopt}, {}));
    auto spent = store_->mark_verified(v.id, v.email, {"after_verify"});
    ASSERT_FALSE(spent);
    EXPECT_EQ(spent.error().code, MarkVerifiedError::stale);
    EXPECT_FALSE(row(v.id).is_verified);
    EXPECT_EQ(events_for(v.id, "after_verify"), 0);
    expect_no_open_transaction();
}

TEST_F(UserStoreTest, ChangesOfDifferentFieldsAtOnceAllStay) {
    for (int round = 0; round < 10; ++round) {
        User u = make_user(unique_email("fields"));
        std::string new_email = unique_email("fields-new");
        at_once(4, [&](int t, UserStore& store) {
            switch (t) {
                case 0:
                    (void)store.set_password(u.id, "hash-1", "hash-0", false, {});
                    break;
                case 1:
                    (void)store.admin_update(u.id,
                                             AdminChange{{}, std::nullopt, true, std::nullopt}, {});
                    break;
                case 2:
                    (void)store.update_profile(u.id, ProfileChange{new_email, std::nullopt}, {});
                    break;
                case 3:
                    (void)store.mark_verified(u.id, u.email, {});
                    break;
            }
        });
        User after = row(u.id);
        EXPECT_EQ(after.hashed_password, "hash-1") << "round " << round;
        EXPECT_TRUE(after.is_superuser) << "round " << round;
        EXPECT_EQ(after.email, new_email) << "round " << round;
        EXPECT_TRUE(after.is_active) << "round " << round;
        // is_verified depends on the order (verify, then the address change
        // unverifies; or the change first spends the token): both are right.
    }
}

TEST_F(UserStoreTest, AnEmailChangeUnverifiesUnlessOnlyTheLetterCaseChanges) {
    std::string email = unique_email("case");
    User u = make_user(email);
    ASSERT_TRUE(store_->mark_verified(u.id, email, {}));
    std::string upper = email;
    upper[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[0])));
    auto same = store_->update_profile(u.id, ProfileChange{upper, std::nullopt}, {"after_update"});
    ASSERT_TRUE(same);
    EXPECT_EQ(same->email, upper);
    EXPECT_TRUE(same->is_verified);
    auto moved =
        store_->update_profile(u.id, ProfileChange{unique_email("case-new"), std::nullopt}, {});
    ASSERT_TRUE(moved);
    EXPECT_FALSE(moved->is_verified);
    // An administrator's explicit is_verified wins over the unverifying.
    auto admin =
        store_->admin_update(u.id,
                             AdminChange{ProfileChange{unique_email("case-admin"), std::nullopt},
                                         std::nullopt, std::nullopt, true},
                             {});
    ASSERT_TRUE(admin);
    EXPECT_TRUE(admin->is_verified);
    EXPECT_EQ(events_for(u.id, "after_update"), 1);
}

TEST_F(UserStoreTest, EmailsFoldLetterCaseAndNothingElse) {
    std::string tag = unique_email("x").substr(2, 12);
    std::string plain = "bob." + tag + "@camelot.bt";
    std::string accented =
        "b\xc3\xb6"
        "b." +
        tag + "@camelot.bt";  // böb
    User bob = make_user(plain);
    User boeb = make_user(accented);
    EXPECT_NE(bob.id, boeb.id);

    auto by_upper = store_->get_by_email("BOB." + tag + "@CAMELOT.BT");
    ASSERT_TRUE(by_upper && *by_upper);
    EXPECT_EQ((*by_upper)->id, bob.id);
    auto by_accented_upper = store_->get_by_email(
        "B\xc3\x96"
        "B." +
        tag + "@camelot.bt");  // BÖB
    ASSERT_TRUE(by_accented_upper && *by_accented_upper);
    EXPECT_EQ((*by_accented_upper)->id, boeb.id);
    auto other_accent = store_->get_by_email(
        "b\xc3\xb3"
        "b." +
        tag + "@camelot.bt");  // bób
    ASSERT_TRUE(other_accent);
    EXPECT_FALSE(*other_accent);

    User dup;
    dup.id = sodium::uuid4();
    dup.email = "Bob." + tag + "@camelot.bt";
    dup.hashed_password = "h";
    auto taken = store_->create(dup, {"after_register"});
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code, CreateError::email_taken);
    EXPECT_EQ(events_for(dup.id, "after_register"), 0);
    auto moved = store_->update_profile(
        boeb.id, ProfileChange{"BOB." + tag + "@camelot.bt", std::nullopt}, {});
    ASSERT_FALSE(moved);
    EXPECT_EQ(moved.error().code, ProfileError::email_taken);
    EXPECT_EQ(row(boeb.id).email, accented);
    expect_no_open_transaction();
}

TEST_F(UserStoreTest, RemoveRecordsTheRowAsItWasAndThenFindsNothing) {
    User u = make_user(unique_email("remove"));
    auto gone = store_->remove(u.id, {"before_delete", "after_delete"});
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->email, u.email);
    EXPECT_EQ(events_for(u.id, "before_delete"), 1);
    EXPECT_EQ(events_for(u.id, "after_delete"), 1);
    auto again = store_->remove(u.id, {"before_delete"});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, DeleteError::not_found);
    EXPECT_EQ(events_for(u.id, "before_delete"), 1);
    auto missing = store_->admin_update(u.id, AdminChange{{}, false, std::nullopt, std::nullopt},
                                        {"after_update"});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ProfileError::not_found);
    expect_no_open_transaction();
}

// db::Transaction: whatever leaves its scope uncommitted is rolled back.
TEST_F(UserStoreTest, TransactionRollsBackOnAnExceptionAndOnAnEarlyReturn) {
    std::string id = sodium::uuid4();
    auto insert = [&] {
        auto r = conn_->exec("INSERT INTO user (id, email, hashed_password) VALUES (?, ?, 'h')",
                             {id, unique_email("tx")});
        ASSERT_TRUE(r);
    };
    EXPECT_THROW(conn_->transaction([&](db::Begun& tx) -> Result<Unit, db::DbError> {
        EXPECT_TRUE(tx);
        insert();
        throw std::runtime_error("a store exception inside the transaction");
    }),
                 std::runtime_error);
    expect_no_open_transaction();
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM user WHERE id = ?", {id}), "0");

    (void)conn_->transaction([&](db::Begun& tx) -> Result<Unit, db::DbError> {
        EXPECT_TRUE(tx);
        insert();
        return Unit{};  // returns without commit
    });
    expect_no_open_transaction();
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM user WHERE id = ?", {id}), "0");

    auto done = conn_->transaction([&](db::Begun& tx) -> Result<Unit, db::DbError> {
        EXPECT_TRUE(tx);
        insert();
        return tx->commit();
    });
    ASSERT_TRUE(done);
    expect_no_open_transaction();
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM user WHERE id = ?", {id}), "1");
    (void)conn_->exec("DELETE FROM user WHERE id = ?", {id});
}

// A transaction the database refused (here a real InnoDB deadlock, 1213, as
// Galera refuses one that lost certification) runs again as a whole, on a
// fresh transaction; with no runs again allowed, the refusal is the answer.
TEST_F(UserStoreTest, ATransactionRefusedByADeadlockRunsAgainAsAWhole) {
    std::string x = sodium::uuid4(), y = sodium::uuid4();
    for (const auto& id : {x, y})
        ASSERT_TRUE(conn_->exec("INSERT INTO user (id, email, hashed_password) VALUES (?, ?, 'h')",
                                {id, unique_email("deadlock")}));
    auto run = [&](int retries) {
        db::Settings s = db_settings(testdb::config());
        s.conflict_retries = retries;
        std::atomic<int> stage{0}, attempts{0};
        Result<Unit, db::DbError> victim = Unit{};
        // The victim locks x then y; the other locks y, then x once the victim
        // waits for y. The other has written more rows, so InnoDB rolls back
        // the victim (the lighter transaction).
        std::thread t1([&] {
            DbThread db_thread;
            db::Connection c(s);
            victim = c.transaction([&](db::Begun& tx) -> Result<Unit, db::DbError> {
                if (!tx) return tx.error();
                int n = ++attempts;
                auto lx = c.exec("SELECT id FROM user WHERE id = ? FOR UPDATE", {x});
                if (!lx) return lx.error();
                if (n == 1) {
                    stage = 1;
                    while (stage.load() < 2) std::this_thread::yield();
                }
                auto ly = c.exec("SELECT id FROM user WHERE id = ? FOR UPDATE", {y});
                if (!ly) return ly.error();
                return tx->commit();
            });
        });
        std::thread t2([&] {
            DbThread db_thread;
            db::Connection c(s);
            (void)c.transaction([&](db::Begun& tx) -> Result<Unit, db::DbError> {
                EXPECT_TRUE(tx);
                for (int i = 0; i < 20; ++i)
                    EXPECT_TRUE(
                        c.exec("INSERT INTO user (id, email, hashed_password) "
                               "VALUES (?, ?, 'h')",
                               {sodium::uuid4(), unique_email("heavy")}));
                while (stage.load() < 1) std::this_thread::yield();
                EXPECT_TRUE(c.exec("SELECT id FROM user WHERE id = ? FOR UPDATE", {y}));
                stage = 2;
                std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the victim waits
                EXPECT_TRUE(c.exec("SELECT id FROM user WHERE id = ? FOR UPDATE", {x}));
                return Unit{};  // rolled back
            });
        });
        t1.join();
        t2.join();
        return std::pair{std::move(victim), attempts.load()};
    };
    auto [refused, once] = run(0);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, db::DbError::unavailable);
    EXPECT_EQ(refused.error().detail, "1213");
    EXPECT_EQ(once, 1);
    auto [ok, twice] = run(3);
    EXPECT_TRUE(ok);
    EXPECT_EQ(twice, 2);
    expect_no_open_transaction();
    (void)conn_->exec("DELETE FROM user WHERE id IN (?, ?)", {x, y});
}

// An OAuth callback's new user and its provider account: one transaction, so
// a refused account row leaves no user (nor its event) behind.
TEST_F(UserStoreTest, CreateWithALinkedRowCommitsBothOrNeither) {
    OAuthAccountStore accounts(*conn_);
    std::string account_id = sodium::uuid4();
    auto create_linked = [&](const std::string& email) {
        User u;
        u.id = sodium::uuid4();
        u.email = email;
        u.hashed_password = "hash-0";
        auto r = store_->create(u, {"after_register"}, [&] {
            OAuthAccount a;
            a.id = sodium::uuid4();
            a.oauth_name = "corp";
            a.access_token = "sealed";
            a.account_id = account_id;
            a.account_email = email;
            a.user_id = u.id;
            return accounts.link(a);
        });
        return std::make_pair(u, r);
    };
    auto [first, created] = create_linked(unique_email("linked"));
    ASSERT_TRUE(created);
    EXPECT_EQ(scalar("SELECT user_id FROM oauth_account WHERE account_id = ?", {account_id}),
              first.id);
    EXPECT_EQ(events_for(first.id, "after_register"), 1);

    // The same provider account again, for another address: a duplicate.
    auto [second, refused] = create_linked(unique_email("linked"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, CreateError::email_taken);
    expect_no_open_transaction();
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM user WHERE id = ?", {second.id}), "0");
    EXPECT_EQ(events_for(second.id, "after_register"), 0);
    (void)conn_->exec("DELETE FROM oauth_account WHERE account_id = ?", {account_id});
}

}  // namespace
}  // namespace fu
