// Discovery parsing, preset endpoints and the e-mail claim mappings.
#include "oauth/provider.h"

#include <gtest/gtest.h>

namespace fu::oauth {
namespace {

const char* kDiscovery =
    R"({"issuer":"https://id.example","authorization_endpoint":"https://id.example/auth",
 "token_endpoint":"https://id.example/token","jwks_uri":"https://id.example/jwks",
 "userinfo_endpoint":"https://id.example/me"})";

TEST(Discovery, EndpointsAreTakenFromAMatchingDocument) {
    auto e = parse_discovery(kDiscovery, "https://id.example");
    ASSERT_TRUE(e) << e.error().code;
    EXPECT_TRUE(e->oidc);
    EXPECT_EQ(e->authorization, "https://id.example/auth");
    EXPECT_EQ(e->token, "https://id.example/token");
    EXPECT_EQ(e->jwks, "https://id.example/jwks");
    EXPECT_EQ(e->userinfo, "https://id.example/me");
}

TEST(Discovery, AnotherIssuerIsRefused) {
    EXPECT_FALSE(parse_discovery(kDiscovery, "https://other.example"));
}

TEST(Discovery, AnIssuerWithATrailingSlashIsKeptExactly) {
    auto e = parse_discovery(
        R"({"issuer":"https://id.example/","authorization_endpoint":"https://id.example/a",
        "token_endpoint":"https://id.example/t","jwks_uri":"https://id.example/j"})",
        "https://id.example");
    ASSERT_TRUE(e) << e.error().code;
    EXPECT_EQ(e->issuer, "https://id.example/");
    EXPECT_FALSE(parse_discovery(R"({"authorization_endpoint":"https://id.example/a",
        "token_endpoint":"https://id.example/t","jwks_uri":"https://id.example/j"})",
                                 "https://id.example"));
}

TEST(Discovery, MissingEndpointsPlainHttpAndGarbageAreRefused) {
    EXPECT_FALSE(
        parse_discovery(R"({"issuer":"https://id.example","token_endpoint":"https://id.example/t",
        "jwks_uri":"https://id.example/j"})",
                        "https://id.example"));
    EXPECT_FALSE(parse_discovery(
        R"({"issuer":"https://id.example","authorization_endpoint":"https://id.example/a",
        "token_endpoint":"http://evil.example/t","jwks_uri":"https://id.example/j"})",
        "https://id.example"));
    EXPECT_FALSE(parse_discovery(
        R"({"issuer":"https://id.example","authorization_endpoint":"https://id.example/a",
        "token_endpoint":7,"jwks_uri":"https://id.example/j"})",
        "https://id.example"));
    EXPECT_FALSE(parse_discovery("[1,2", "https://id.example"));
    EXPECT_FALSE(parse_discovery("", "https://id.example"));
}

TEST(Discovery, LoopbackMayUsePlainHttp) {
    EXPECT_TRUE(parse_discovery(
        R"({"issuer":"http://127.0.0.1:9","authorization_endpoint":"http://127.0.0.1:9/a",
        "token_endpoint":"http://127.0.0.1:9/t","jwks_uri":"http://localhost:9/j"})",
        "http://127.0.0.1:9"));
}

TEST(Discovery, MicrosoftCommonEndpointHasATenantTemplate) {
    auto e = parse_discovery(R"({"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0",
        "authorization_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "token_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "jwks_uri":"https://login.microsoftonline.com/common/discovery/v2.0/keys"})",
                             "https://login.microsoftonline.com/common/v2.0");
    ASSERT_TRUE(e) << e.error().code;
    EXPECT_EQ(e->issuer, "https://login.microsoftonline.com/{tenantid}/v2.0");
    // Elsewhere a template is no wildcard.
    EXPECT_FALSE(parse_discovery(
        R"({"issuer":"https://id.example/{tenantid}","authorization_endpoint":"https://a/a",
        "token_endpoint":"https://a/t","jwks_uri":"https://a/j"})",
        "https://id.example/x"));
}

TEST(Presets, GithubHasFixedEndpointsAndNoOidc) {
    OAuthProviderConfig c;
    c.preset = "github";
    auto e = preset_endpoints(c);
    ASSERT_TRUE(e);
    EXPECT_FALSE(e->oidc);
    EXPECT_EQ(e->authorization, "https://github.com/login/oauth/authorize");
    EXPECT_EQ(e->token, "https://github.com/login/oauth/access_token");
    EXPECT_EQ(e->userinfo, "https://api.github.com/user");
    EXPECT_EQ(e->emails, "https://api.github.com/user/emails");
    for (const char* p : {"oidc", "google", "microsoft"}) {
        c.preset = p;
        EXPECT_FALSE(preset_endpoints(c)) << p;  // discovery
    }
}

TEST(Presets, EmailIsTakenOnlyWhenVerified) {
    auto doc = [](const char* text) { return json::parse(text); };
    EXPECT_EQ(verified_email(doc(R"({"email":"a@b.c","email_verified":true})").get(), "oidc"),
              "a@b.c");
    EXPECT_EQ(verified_email(doc(R"({"email":"a@b.c","email_verified":"true"})").get(), "google"),
              "a@b.c");
    EXPECT_EQ(verified_email(doc(R"({"email":"a@b.c","email_verified":false})").get(), "oidc"), "");
    EXPECT_EQ(verified_email(doc(R"({"email":"a@b.c"})").get(), "oidc"), "");
    EXPECT_EQ(
        verified_email(doc(R"({"email":"not-an-address","email_verified":true})").get(), "oidc"),
        "");
    EXPECT_EQ(verified_email(doc(R"({"email":7,"email_verified":true})").get(), "oidc"), "");
    // Microsoft marks a verified domain owner's address with xms_edov.
    EXPECT_EQ(verified_email(doc(R"({"email":"a@b.c","xms_edov":true})").get(), "microsoft"),
              "a@b.c");
    EXPECT_EQ(verified_email(doc(R"({"email":"a@b.c","xms_edov":true})").get(), "oidc"), "");
}

TEST(Presets, GithubPrimaryVerifiedAddressOnly) {
    EXPECT_EQ(github_primary_email(R"([{"email":"x@y.z","primary":false,"verified":true},
        {"email":"p@y.z","primary":true,"verified":true}])"),
              "p@y.z");
    EXPECT_EQ(github_primary_email(R"([{"email":"p@y.z","primary":true,"verified":false}])"), "");
    EXPECT_EQ(github_primary_email(R"({"message":"Bad credentials"})"), "");
    EXPECT_EQ(github_primary_email("garbage"), "");
}

}  // namespace
}  // namespace fu::oauth
