// Authenticator's offer (a worker's group read, fcgi/server.cpp) against the
// real MariaDB of scripts/test: a row offered for one request's token serves
// that token once and nothing else, decides that request alone, and is gone
// once withdrawn.
#include "auth/authenticator.h"

#include <memory>

#include "../store/test_database.h"
#include "store/read_batch.h"

namespace fu {
namespace {

constexpr const char* kPassword = "guinevere-forever";

class AuthenticatorOfferTest : public testdb::DatabaseTest {
  protected:
    void SetUp() override {
        testdb::DatabaseTest::SetUp();
        if (HasFatalFailure()) return;
        const Config& c = testdb::config();
        for (const auto& b : c.backends) {
            if (b.strategy == Strategy::jwt && b.transport == Transport::bearer && !jwt_backend_)
                jwt_backend_ = &b;
            if (b.strategy == Strategy::database && b.transport == Transport::bearer)
                database_backend_ = &b;
        }
        ASSERT_TRUE(jwt_backend_ && database_backend_) << "the test stack enables both";
        hasher_ = std::make_unique<PasswordHasher>(c.argon2_memory_kib, c.argon2_iterations, 1);
        jwt_ = std::make_unique<JwtCodec>(c.jwt_algorithm);
        deps_ = std::make_unique<UserManagerDeps>(UserManagerDeps{c, *hasher_, *jwt_});
        batch_ = std::make_unique<ReadBatch>(1, SessionStore::kMaxBatch);
        stores_ = std::make_unique<Stores>(c, batch_.get());
        manager_ = std::make_unique<UserManager>(*deps_, *stores_);
        auth_ = std::make_unique<Authenticator>(c, *jwt_, stores_->tokens(), stores_->sessions(),
                                                stores_->refresh_tokens());
    }

    User registered(const std::string& prefix) {
        auto u = manager_->create(unique_email(prefix), kPassword);
        EXPECT_TRUE(u);
        return u ? *u : User{};
    }

    http::Request bearing(const BackendConfig& backend, const User& u) {
        auto now = auth_->session_user(u.id);  // the generation a login reads
        EXPECT_TRUE(now && *now);
        auto token = auth_->write_token(backend, u, {"", now && *now ? (*now)->generation : 0});
        EXPECT_TRUE(token);
        http::Request req;
        req.method = "GET";
        req.headers.emplace_back("authorization", "Bearer " + (token ? *token : std::string()));
        return req;
    }

    // The user's row as the group's statement reads it.
    std::optional<SessionUser> row(const User& u) {
        std::string_view ids[] = {u.id};
        auto rows = auth_->read_users(ids);
        EXPECT_TRUE(rows);
        const SessionUser* found = rows ? SessionStore::row_of(*rows, u.id) : nullptr;
        return found ? std::optional<SessionUser>(*found) : std::nullopt;
    }

    unsigned long long reads() const { return batch_->counts().reads; }

    const BackendConfig* jwt_backend_ = nullptr;
    const BackendConfig* database_backend_ = nullptr;
    std::unique_ptr<PasswordHasher> hasher_;
    std::unique_ptr<JwtCodec> jwt_;
    std::unique_ptr<UserManagerDeps> deps_;
    std::unique_ptr<ReadBatch> batch_;
    std::unique_ptr<Stores> stores_;
    std::unique_ptr<UserManager> manager_;
    std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthenticatorOfferTest, AnOfferServesItsOwnTokenOnceAndNoOther) {
    User a = registered("offer-a"), b = registered("offer-b");
    http::Request as_a = bearing(*jwt_backend_, a), as_b = bearing(*jwt_backend_, b);
    auto prepared = auth_->prepare(as_a);
    ASSERT_TRUE(prepared);
    EXPECT_EQ(prepared->subject, a.id);
    auth_->offer(std::move(*prepared), row(a));
    auto before = reads();

    auto who = auth_->current_user(as_b, {.active = true});  // another token: reads its own row
    ASSERT_TRUE(who);
    EXPECT_EQ(who->user.id, b.id);
    EXPECT_EQ(reads(), before + 1);

    who = auth_->current_user(as_a, {.active = true});  // takes the offer: no read
    ASSERT_TRUE(who);
    EXPECT_EQ(who->user.id, a.id);
    EXPECT_EQ(reads(), before + 1);

    who = auth_->current_user(as_a, {.active = true});  // taken once: reads again
    ASSERT_TRUE(who);
    EXPECT_EQ(reads(), before + 2);
}

TEST_F(AuthenticatorOfferTest, TheOfferedRowDecidesItsRequest) {
    User a = registered("offer-inactive");
    http::Request as_a = bearing(*jwt_backend_, a);
    auto deactivated = row(a);
    ASSERT_TRUE(deactivated);
    deactivated->user.is_active = false;
    auth_->offer(*auth_->prepare(as_a), deactivated);
    auto who = auth_->current_user(as_a, {.active = true});
    ASSERT_FALSE(who);
    EXPECT_EQ(who.error().code, AuthError::unauthorized);

    // No row (the user was gone when the group read it): no user.
    auth_->offer(*auth_->prepare(as_a), std::optional<SessionUser>{});
    who = auth_->current_user(as_a, {.active = true});
    ASSERT_FALSE(who);
    EXPECT_EQ(who.error().code, AuthError::unauthorized);

    // The group's statement failed: its error is the answer, without a read.
    auto before = reads();
    auth_->offer(*auth_->prepare(as_a), make_error(AuthError::unavailable));
    who = auth_->current_user(as_a, {.active = true});
    ASSERT_FALSE(who);
    EXPECT_EQ(who.error().code, AuthError::unavailable);
    EXPECT_EQ(reads(), before);
}

TEST_F(AuthenticatorOfferTest, AWithdrawnOfferIsNeverUsed) {
    User a = registered("offer-withdrawn");
    http::Request as_a = bearing(*jwt_backend_, a);
    auth_->offer(*auth_->prepare(as_a), row(a));
    auth_->withdraw();
    ASSERT_TRUE(conn_->exec("UPDATE user SET is_active = FALSE WHERE id = ?", {a.id}));
    auto who = auth_->current_user(as_a, {.active = true});
    ASSERT_FALSE(who);
    EXPECT_EQ(who.error().code, AuthError::unauthorized);
}

TEST_F(AuthenticatorOfferTest, ADatabaseTokenIsReadByItsHashAndTakesItsOffer) {
    User a = registered("offer-db-a"), b = registered("offer-db-b");
    http::Request as_a = bearing(*database_backend_, a);
    auto prepared = auth_->prepare(as_a);
    ASSERT_TRUE(prepared);
    EXPECT_EQ(prepared->claims, nullptr);
    std::string_view hashes[] = {prepared->token_hash, "not-a-stored-hash"};
    auto users = auth_->read_token_users(hashes);
    ASSERT_TRUE(users);
    ASSERT_EQ(users->size(), 1u);
    EXPECT_EQ((*users)[0].first, prepared->token_hash);
    EXPECT_EQ((*users)[0].second.id, a.id);
    // The row offered is the one that decides (here b's, to tell it from a read).
    SessionUser offered;
    offered.user = b;
    auth_->offer(std::move(*prepared), std::optional<SessionUser>(offered));
    auto who = auth_->current_user(as_a, {.active = true});
    ASSERT_TRUE(who);
    EXPECT_EQ(who->user.id, b.id);
    who = auth_->current_user(as_a, {.active = true});  // taken once: read again
    ASSERT_TRUE(who);
    EXPECT_EQ(who->user.id, a.id);
}

TEST_F(AuthenticatorOfferTest, OnlyAValidAccessJwtOrADatabaseTokenIsPrepared) {
    User a = registered("offer-prepare");
    EXPECT_FALSE(auth_->prepare(http::Request{}));
    http::Request short_token;
    short_token.headers.emplace_back("authorization", "Bearer abc");
    EXPECT_FALSE(auth_->prepare(short_token));
    http::Request forged = bearing(*jwt_backend_, a);
    std::string& header = forged.headers.back().second;
    char& c = header[header.size() - 10];  // inside the signature, whose bits it all carries
    c = c == 'A' ? 'B' : 'A';
    EXPECT_FALSE(auth_->prepare(forged));
}

}  // namespace
}  // namespace fu
