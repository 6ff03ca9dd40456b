// The state JWT and the PKCE values derived from the CSRF cookie.
#include "oauth/state.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace fu::oauth {
namespace {

TEST(OAuthState, RoundTripAndItsErrors) {
    ASSERT_GE(sodium_init(), 0);
    JwtCodec jwt("HS256");
    SecretString key(std::string(40, 's')), other(std::string(40, 'o'));
    State s{csrf_hash("csrf-1"), "corp", true, "user-1", ""};
    std::string token = issue_state(jwt, key, 60, s);
    // The cookie's value never travels in the state, only its hash.
    auto written = jwt.decode(token, key, kStateAudience);
    ASSERT_TRUE(written);
    for (const cJSON* c = written->get()->child; c; c = c->next) {
        if (cJSON_IsString(c)) {
            EXPECT_STRNE(c->valuestring, "csrf-1") << c->string;
        }
    }
    auto back = read_state(jwt, key, token);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->csrf_hash, csrf_hash("csrf-1"));
    EXPECT_TRUE(cookie_matches(*back, "csrf-1"));
    EXPECT_FALSE(cookie_matches(*back, "csrf-2"));
    EXPECT_FALSE(cookie_matches(*back, back->csrf_hash));  // what the URL shows is no cookie
    EXPECT_TRUE(back->csrftoken.empty());
    EXPECT_EQ(back->provider, "corp");
    EXPECT_TRUE(back->associate);
    EXPECT_EQ(back->sub, "user-1");
    EXPECT_EQ(read_state(jwt, other, issue_state(jwt, key, 60, s)).error().code,
              StateError::decode);
    EXPECT_EQ(read_state(jwt, key, issue_state(jwt, key, -5, s)).error().code, StateError::expired);
    EXPECT_EQ(read_state(jwt, key, "garbage").error().code, StateError::decode);
    // An access token of the same key is no state (another audience).
    json::Doc claims(cJSON_CreateObject());
    cJSON_AddStringToObject(claims.get(), "aud", "fastapi-users:auth");
    cJSON_AddStringToObject(claims.get(), "csrftoken_sha256", csrf_hash("csrf-1").c_str());
    EXPECT_EQ(read_state(jwt, key, jwt.encode(key, claims.get(), 60)).error().code,
              StateError::decode);
}

TEST(OAuthState, PkceS256MatchesRfc7636AppendixB) {
    ASSERT_GE(sodium_init(), 0);
    EXPECT_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
              "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(OAuthState, VerifierAndNonceDependOnTheCookieAndDiffer) {
    ASSERT_GE(sodium_init(), 0);
    SecretString key(std::string(40, 's'));
    std::string v = pkce_verifier(key, "a");
    EXPECT_EQ(v.size(), 43u);  // RFC 7636: 43 to 128 characters
    EXPECT_EQ(v, pkce_verifier(key, "a"));
    EXPECT_NE(v, pkce_verifier(key, "b"));
    EXPECT_NE(v, oidc_nonce(key, "a"));
}

}  // namespace
}  // namespace fu::oauth
