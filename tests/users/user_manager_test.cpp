// UserManager against the real MariaDB of scripts/test: a change made from a
// copy of the user read earlier keeps every other change, one reset token
// resets once, and the forgot/verify requests record events only for users.
#include "users/user_manager.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "../store/test_database.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

constexpr const char* kPassword = "guinevere-forever";

// One worker's objects: its own connection, stores and manager.
struct Worker {
    explicit Worker(const UserManagerDeps& deps)
        : stores(testdb::config()), manager(deps, stores) {}
    Stores stores;
    UserManager manager;
};

class UserManagerTest : public testdb::DatabaseTest {
  protected:
    void SetUp() override {
        testdb::DatabaseTest::SetUp();
        if (HasFatalFailure()) return;
        const Config& c = testdb::config();
        // The event counts below need the hooks scripts/test configures.
        for (const char* e : {"after_forgot_password", "after_reset_password"})
            ASSERT_TRUE(c.hooks.commands.count(e) && !c.hooks.commands.at(e).empty())
                << "no hook for " << e << ": run under scripts/test";
        hasher_ = std::make_unique<PasswordHasher>(c.argon2_memory_kib, c.argon2_iterations, 4);
        jwt_ = std::make_unique<JwtCodec>(c.jwt_algorithm);
        deps_ = std::make_unique<UserManagerDeps>(UserManagerDeps{c, *hasher_, *jwt_});
        worker_ = std::make_unique<Worker>(*deps_);
    }

    UserManager& manager() { return worker_->manager; }

    User registered(const std::string& prefix) {
        auto u = manager().create(unique_email(prefix), kPassword);
        EXPECT_TRUE(u);
        return u ? *u : User{};
    }

    User current(const std::string& id) {
        auto u = manager().get(id);
        EXPECT_TRUE(u);
        return u ? *u : User{};
    }

    // The tokens forgot-password and request-verify-token would send.
    std::string reset_token(const User& u) {
        json::Doc claims(cJSON_CreateObject());
        cJSON_AddStringToObject(claims.get(), "sub", u.id.c_str());
        cJSON_AddStringToObject(claims.get(), "password_fgpt",
                                manager().reset_fingerprint(u).c_str());
        cJSON_AddStringToObject(claims.get(), "aud", "fastapi-users:reset");
        return jwt_->encode(testdb::config().reset_secret, claims.get(), 600);
    }
    std::string verify_token(const User& u) {
        json::Doc claims(cJSON_CreateObject());
        cJSON_AddStringToObject(claims.get(), "sub", u.id.c_str());
        cJSON_AddStringToObject(claims.get(), "email", u.email.c_str());
        cJSON_AddStringToObject(claims.get(), "aud", "fastapi-users:verify");
        return jwt_->encode(testdb::config().verify_secret, claims.get(), 600);
    }

    bool password_is(const User& u, const std::string& password) {
        auto r = manager().authenticate(u.email, password);
        return r && *r;
    }

    long events_for(const std::string& id, const char* event) {
        return std::stol(
            scalar("SELECT COUNT(*) FROM hook_event WHERE user_id = ? AND event = ?", {id, event}));
    }

    // Runs body(i, manager) on `threads` threads at once, a Worker each.
    template <typename F>
    void at_once(int threads, F body) {
        testdb::at_once(
            threads,
            [this] {
                auto w = std::make_unique<Worker>(*deps_);
                (void)w->manager.ping();
                return w;
            },
            [&](int t, Worker& w) { body(t, w.manager); });
    }

    std::unique_ptr<PasswordHasher> hasher_;
    std::unique_ptr<JwtCodec> jwt_;
    std::unique_ptr<UserManagerDeps> deps_;
    std::unique_ptr<Worker> worker_;
};

TEST_F(UserManagerTest, AnUpdateFromAStaleCopyKeepsTheOtherFields) {
    User u = registered("stale-copy");
    User copy = current(u.id);
    // Meanwhile an administrator deactivates and promotes the user.
    UserUpdate admin;
    admin.is_active = false;
    admin.is_superuser = true;
    ASSERT_TRUE(manager().update(copy, admin, false));
    // The user's own PATCH, decided on the copy read before.
    UserUpdate mine;
    mine.password = "a-new-password-for-me";
    auto r = manager().update(copy, mine, true);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->is_active);
    EXPECT_TRUE(r->is_superuser);
    User after = current(u.id);
    EXPECT_FALSE(after.is_active);
    EXPECT_TRUE(after.is_superuser);
    EXPECT_TRUE(password_is(after, "a-new-password-for-me"));
}

TEST_F(UserManagerTest, AVerifyKeepsAPasswordChangedAfterTheTokenWasIssued) {
    User u = registered("verify-pw");
    std::string token = verify_token(u);
    UserUpdate change;
    change.password = "changed-while-verifying";
    ASSERT_TRUE(manager().update(u, change, true));
    auto v = manager().verify(token);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->is_verified);
    EXPECT_TRUE(password_is(current(u.id), "changed-while-verifying"));
    // And the other way round: a PATCH from a copy read before the verify.
    UserUpdate again;
    again.password = "changed-after-verifying";
    ASSERT_TRUE(manager().update(u, again, true));
    EXPECT_TRUE(current(u.id).is_verified);
}

TEST_F(UserManagerTest, OneResetTokenSentAtOnceResetsOnce) {
    for (int round = 0; round < 5; ++round) {
        User u = registered("reset-twice");
        std::string token = reset_token(u);
        std::atomic<int> ok{0}, bad{0};
        at_once(3, [&](int t, UserManager& m) {
            auto r = m.reset_password(token, "reset-number-" + std::to_string(t));
            if (r)
                ok.fetch_add(1);
            else if (r.error().code == ResetError::bad_token)
                bad.fetch_add(1);
        });
        EXPECT_EQ(ok.load(), 1) << "round " << round;
        EXPECT_EQ(bad.load(), 2) << "round " << round;
        EXPECT_EQ(events_for(u.id, "after_reset_password"), 1) << "round " << round;
        // And the token is spent for later.
        auto later = manager().reset_password(token, "one-more-try-later");
        ASSERT_FALSE(later);
        EXPECT_EQ(later.error().code, ResetError::bad_token);
    }
}

TEST_F(UserManagerTest, AResetRacingADeactivationNeverReactivates) {
    for (int round = 0; round < 5; ++round) {
        User u = registered("reset-deactivate");
        std::string token = reset_token(u);
        at_once(2, [&](int t, UserManager& m) {
            if (t == 0) {
                (void)m.reset_password(token, "reset-while-deactivated");
            } else {
                UserUpdate off;
                off.is_active = false;
                std::this_thread::sleep_for(std::chrono::milliseconds(5 * round));
                EXPECT_TRUE(m.update(u, off, false));
            }
        });
        EXPECT_FALSE(current(u.id).is_active) << "round " << round;
    }
}

TEST_F(UserManagerTest, ForgotPasswordRecordsAnEventOnlyForAnActiveUser) {
    User u = registered("forgot");
    ASSERT_TRUE(manager().forgot_password(u.email));
    EXPECT_EQ(events_for(u.id, "after_forgot_password"), 1);
    ASSERT_TRUE(manager().forgot_password(unique_email("nobody")));
    UserUpdate off;
    off.is_active = false;
    ASSERT_TRUE(manager().update(u, off, false));
    ASSERT_TRUE(manager().forgot_password(u.email));
    EXPECT_EQ(events_for(u.id, "after_forgot_password"), 1);
}

TEST_F(UserManagerTest, AnAddressTakenInAnotherLetterCaseIsTakenAndAnAccentIsNot) {
    std::string email = unique_email("taken");
    ASSERT_TRUE(manager().create(email, kPassword));
    std::string upper = email;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto dup = manager().create(upper, kPassword);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, CreateUserError::already_exists);
    std::string accented = "\xc3\xa9" + email;  // é + the address
    std::string plain = "e" + email;
    ASSERT_TRUE(manager().create(plain, kPassword));
    auto other = manager().create(accented, kPassword);
    ASSERT_TRUE(other) << "an accent makes another address";
    auto found = manager().authenticate(accented, kPassword);
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->id, other->id);
}

}  // namespace
}  // namespace fu
