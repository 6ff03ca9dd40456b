// The oauth.* keys: providers from the file or the environment (names made
// from the provider's name), presets' defaults, derived associate URL, and
// the errors check-config gives.
#include <gtest/gtest.h>

#include <fstream>

#include "config/config.h"

namespace fu {
namespace {

const std::string kSecret(32, 's');

std::map<std::string, std::string> oauth_env() {
    return {{"FCGI_USERS_ACCESS_TOKEN_SECRET", kSecret},
            {"FCGI_USERS_RESET_SECRET", kSecret},
            {"FCGI_USERS_VERIFY_SECRET", kSecret},
            {"FCGI_USERS_OAUTH_STATE_SECRET", kSecret + "st"},
            {"FCGI_USERS_OAUTH_TOKEN_KEY", kSecret + "tk"},
            {"FCGI_USERS_OAUTH_PROVIDERS", "corp, google"},
            {"FCGI_USERS_OAUTH_CORP_ISSUER", "https://id.corp.example/"},
            {"FCGI_USERS_OAUTH_CORP_CLIENT_ID", "cid"},
            {"FCGI_USERS_OAUTH_CORP_REDIRECT_URL", "https://site.example/api/auth/corp/callback"},
            {"FCGI_USERS_OAUTH_GOOGLE_PRESET", "google"},
            {"FCGI_USERS_OAUTH_GOOGLE_CLIENT_ID", "gid"},
            {"FCGI_USERS_OAUTH_GOOGLE_REDIRECT_URL", "https://site.example/auth/google/callback"}};
}

std::string error_of(std::map<std::string, std::string> env, const std::string& file = "") {
    try {
        Config::load(file, env);
    } catch (const ConfigError& e) {
        return e.key();
    }
    return "(no error)";
}

TEST(OAuthConfig, ProvidersFromTheEnvironmentWithTheirDefaults) {
    Config c = Config::load("", oauth_env());
    ASSERT_EQ(c.oauth.providers.size(), 2u);
    const auto& corp = c.oauth.providers[0];
    EXPECT_EQ(corp.name, "corp");
    EXPECT_EQ(corp.preset, "oidc");
    EXPECT_EQ(corp.issuer, "https://id.corp.example");
    EXPECT_EQ(corp.associate_redirect_url, "https://site.example/api/auth/associate/corp/callback");
    EXPECT_EQ(corp.scopes, (std::vector<std::string>{"openid", "email"}));
    EXPECT_EQ(corp.backend, "jwt");
    EXPECT_FALSE(corp.associate_by_email);
    EXPECT_TRUE(corp.client_secret.empty());
    const auto& google = c.oauth.providers[1];
    EXPECT_EQ(google.issuer, "https://accounts.google.com");
}

TEST(OAuthConfig, FileKeysSecretFileAndGithubPreset) {
    std::string secret_path = "/tmp/fcgi-users-oauth-secret-test";
    std::ofstream(secret_path) << "client-secret\n";
    std::string path = "/tmp/fcgi-users-oauth-conf-test";
    std::ofstream(path) << "oauth.providers = gh\n"
                           "oauth.gh.preset = github\n"
                           "oauth.gh.client_id = ghid\n"
                           "oauth.gh.client_secret_file = " +
                               secret_path +
                               "\n"
                               "oauth.gh.redirect_url = https://s.example/auth/gh/callback\n"
                               "oauth.gh.associate_by_email = true\n"
                               "oauth.gh.backend = cookie\n";
    auto env = oauth_env();
    env.erase("FCGI_USERS_OAUTH_PROVIDERS");
    for (auto it = env.begin(); it != env.end();)
        it = it->first.find("_CORP_") != std::string::npos ||
                     it->first.find("_GOOGLE_") != std::string::npos
                 ? env.erase(it)
                 : std::next(it);
    Config c = Config::load(path, env);
    ASSERT_EQ(c.oauth.providers.size(), 1u);
    const auto& gh = c.oauth.providers[0];
    EXPECT_EQ(gh.client_secret.view(), "client-secret");
    EXPECT_EQ(gh.scopes, (std::vector<std::string>{"user:email"}));
    EXPECT_TRUE(gh.associate_by_email);
    EXPECT_EQ(gh.backend, "cookie");
    std::string described = c.describe();
    EXPECT_NE(described.find("oauth.gh.client_secret = ********"), std::string::npos);
    EXPECT_EQ(described.find("client-secret"), std::string::npos);
}

TEST(OAuthConfig, ErrorsNameTheKey) {
    auto with = [](std::map<std::string, std::string> changes) {
        auto env = oauth_env();
        for (auto& [k, v] : changes) {
            if (v == "-")
                env.erase(k);
            else
                env[k] = v;
        }
        return error_of(env);
    };
    EXPECT_EQ(with({}), "(no error)");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_CORP_ISSUER", "http://id.corp.example"}}),
              "oauth.corp.issuer");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_CORP_ISSUER", "http://127.0.0.1:9000"}}), "(no error)");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_CORP_ISSUER", "-"}}), "oauth.corp.issuer");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_CORP_CLIENT_ID", "-"}}), "oauth.corp.client_id");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_CORP_PRESET", "facebook"}}), "oauth.corp.preset");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_CORP_SCOPES", "email profile"}}), "oauth.corp.scopes");
    EXPECT_EQ(
        with({{"FCGI_USERS_OAUTH_CORP_BACKEND", "database"}, {"FCGI_USERS_AUTH_BACKENDS", "jwt"}}),
        "oauth.corp.backend");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_CORP_ASSOCIATE_BY_EMAIL", "maybe"}}),
              "oauth.corp.associate_by_email");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_CORP_REDIRECT_URL", "https://s.example/cb"}}),
              "oauth.corp.associate_redirect_url");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_STATE_SECRET", "-"}}), "oauth.state_secret");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_TOKEN_KEY", "short"}}), "oauth.token_key");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_PROVIDERS", "corp,corp"}}), "oauth.providers");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_PROVIDERS", "Corp"}}), "oauth.providers");
    EXPECT_EQ(with({{"FCGI_USERS_OAUTH_PROVIDERS", "associate"}}), "oauth.providers");
}

TEST(OAuthConfig, NoProviderNeedsNoOAuthSecret) {
    std::map<std::string, std::string> env = {{"FCGI_USERS_ACCESS_TOKEN_SECRET", kSecret},
                                              {"FCGI_USERS_RESET_SECRET", kSecret},
                                              {"FCGI_USERS_VERIFY_SECRET", kSecret}};
    EXPECT_EQ(error_of(env), "(no error)");
    std::string path = "/tmp/fcgi-users-oauth-conf-test2";
    std::ofstream(path) << "oauth.ghost.client_id = x\n";
    EXPECT_EQ(error_of(env, path), "oauth.ghost.client_id");
}

TEST(OAuthConfig, ProviderUrls) {
    EXPECT_FALSE(provider_url_problem("https://id.example/x"));
    EXPECT_FALSE(provider_url_problem("http://127.0.0.1:8/x"));
    EXPECT_FALSE(provider_url_problem("http://localhost/x"));
    EXPECT_FALSE(provider_url_problem("http://[::1]:8/x"));
    EXPECT_TRUE(provider_url_problem("http://id.example/x"));
    EXPECT_TRUE(provider_url_problem("http://127.0.0.1.evil.example/x"));
    EXPECT_TRUE(provider_url_problem("http://localhost@evil.example/x"));
    EXPECT_TRUE(provider_url_problem("ftp://id.example/x"));
    EXPECT_TRUE(provider_url_problem("id.example"));
}

}  // namespace
}  // namespace fu
