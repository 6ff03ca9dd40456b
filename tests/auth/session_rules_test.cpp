// The session rules of access JWTs: generations, the kept session, revoked
// ids, and FastAPI-Users-minted tokens against the ending time.
#include "auth/session_rules.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "wrap/sodium.h"

namespace fu {
namespace {

constexpr long kLifetime = 3600;

json::Doc claims(const std::string& text) {
    return json::parse(text);
}

SessionUser state(long long generation, std::optional<std::string> kept = std::nullopt,
                  std::optional<long long> ended_ms = std::nullopt, std::string revoked_ids = "") {
    SessionUser s;
    s.generation = generation;
    s.kept = std::move(kept);
    s.ended_ms = ended_ms;
    s.revoked_ids = std::move(revoked_ids);
    return s;
}

TEST(SessionRules, ReadsTheClaimsOfOurTokens) {
    auto c = claims(R"({"sub":"x","jti":"J","sid":"S","sgen":4,"exp":100})");
    TokenSession t = token_session(c.get(), "the.token.text");
    EXPECT_EQ(t.id, "J");
    EXPECT_EQ(t.sid, "S");
    EXPECT_EQ(t.exp, 100);
    ASSERT_TRUE(t.generation);
    EXPECT_EQ(*t.generation, 4);
}

TEST(SessionRules, ATokenWithoutJtiIsRevokedByItsHash) {
    ASSERT_GE(sodium_init(), 0);
    auto c = claims(R"({"sub":"x","exp":100})");
    TokenSession t = token_session(c.get(), "the.token.text");
    EXPECT_EQ(t.id, sodium::sha256_base64url("the.token.text"));
    EXPECT_TRUE(t.sid.empty());
    EXPECT_FALSE(t.generation);
}

TEST(SessionRules, GenerationOrdersEndingsExactly) {
    TokenSession t{"J", "S", 100, 3};
    EXPECT_TRUE(session_alive(t, state(3), kLifetime));
    EXPECT_TRUE(session_alive(t, state(2), kLifetime));
    EXPECT_FALSE(session_alive(t, state(4), kLifetime));
}

TEST(SessionRules, TheKeptSessionSurvivesItsOwnEndingOnly) {
    TokenSession t{"J", "S", 100, 3};
    EXPECT_TRUE(session_alive(t, state(5, "S"), kLifetime));
    EXPECT_FALSE(session_alive(t, state(5, "other"), kLifetime));
    TokenSession no_sid{"J", "", 100, 3};
    EXPECT_FALSE(session_alive(no_sid, state(5, ""), kLifetime));
}

TEST(SessionRules, ARevokedIdIsRefusedWhateverTheGeneration) {
    TokenSession t{"J", "S", 100, 3};
    EXPECT_TRUE(session_alive(t, state(3, "S", std::nullopt, "K:100 JJ:100 SS:100"), kLifetime));
    EXPECT_FALSE(session_alive(t, state(3, "S", std::nullopt, "K:100 J:100"), kLifetime));
    EXPECT_FALSE(session_alive(t, state(3, "S", std::nullopt, "S:100"), kLifetime));  // its session
    TokenSession foreign{"H", "", 100, std::nullopt};
    EXPECT_FALSE(session_alive(foreign, state(0, std::nullopt, std::nullopt, "H:100"), kLifetime));
}

TEST(SessionRules, IdsThatAreNotOursAreNeverTakenAsIs) {
    ASSERT_GE(sodium_init(), 0);
    // A jti or sid with a space or colon could forge or hide an entry of the
    // row's revoked-ids text: the hash stands in for the id, the sid is dropped.
    auto c = claims(R"({"sub":"x","jti":"J:1 K","sid":"S 2","exp":100})");
    TokenSession t = token_session(c.get(), "the.token.text");
    EXPECT_EQ(t.id, sodium::sha256_base64url("the.token.text"));
    EXPECT_TRUE(t.sid.empty());
}

TEST(SessionRules, FastApiUsersTokensCountUntilAnEndingAfterTheirIssue) {
    // exp - lifetime is the earliest the token can have been issued.
    const long long exp = 1'000'000 + kLifetime;
    TokenSession foreign{"H", "", exp, std::nullopt};
    EXPECT_TRUE(session_alive(foreign, state(0), kLifetime));  // never ended
    EXPECT_TRUE(session_alive(foreign, state(1, std::nullopt, 1'000'000'000),
                              kLifetime));  // ended at issue
    EXPECT_FALSE(
        session_alive(foreign, state(1, std::nullopt, 1'000'000'001), kLifetime));  // ended after
    EXPECT_TRUE(
        session_alive(foreign, state(1, std::nullopt, 999'999'999), kLifetime));  // ended before
}

}  // namespace
}  // namespace fu
