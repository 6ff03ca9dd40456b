// Config: defaults, file and environment, _file secrets, errors naming the
// key, masking, and the shipped conf/fcgi-users.conf.
#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace fu {
namespace {

const std::string kSecret(32, 's');

std::map<std::string, std::string> base_env() {
    return {{"FCGI_USERS_ACCESS_TOKEN_SECRET", kSecret},
            {"FCGI_USERS_RESET_SECRET", kSecret + "r"},
            {"FCGI_USERS_VERIFY_SECRET", kSecret + "v"}};
}

std::string temp_file(const std::string& content) {
    char path[] = "/tmp/fcgi-users-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    std::ofstream(path) << content;
    return path;
}

std::string error_key(const std::string& file, const std::map<std::string, std::string>& env) {
    try {
        Config::load(file, env);
    } catch (const ConfigError& e) {
        return e.key();
    }
    return "(no error)";
}

}  // namespace

TEST(Config, DefaultsWithSecretsFromTheEnvironment) {
    Config c = Config::load("", base_env());
    EXPECT_EQ(c.workers, 8);
    EXPECT_EQ(c.jwt_algorithm, "HS256");
    EXPECT_EQ(c.argon2_memory_kib, 19456);
    EXPECT_EQ(c.argon2_iterations, 2);
    ASSERT_EQ(c.backends.size(), 3u);
    EXPECT_EQ(c.backends[0].prefix, "/auth/jwt");
    EXPECT_EQ(c.backends[1].transport, Transport::cookie);
    EXPECT_EQ(c.backends[2].strategy, Strategy::database);
    EXPECT_EQ(c.cookie.name, "fastapiusersauth");
    EXPECT_TRUE(c.access_token_secret.equals(kSecret));
}

TEST(Config, FileThenEnvironment) {
    std::string f =
        temp_file("# comment\nworkers = 3\nlog.level = warn\nbackend.cookie.strategy = database\n");
    auto env = base_env();
    env["FCGI_USERS_WORKERS"] = "5";
    Config c = Config::load(f, env);
    EXPECT_EQ(c.workers, 5);
    EXPECT_EQ(c.log_level, "warn");
    EXPECT_EQ(c.backend_settings.at("cookie").strategy, Strategy::database);
    std::remove(f.c_str());
}

TEST(Config, SecretFromFile) {
    std::string s = temp_file(std::string(40, 'f') + "\n");
    auto env = base_env();
    env.erase("FCGI_USERS_ACCESS_TOKEN_SECRET");
    env["FCGI_USERS_ACCESS_TOKEN_SECRET_FILE"] = s;
    Config c = Config::load("", env);
    EXPECT_TRUE(c.access_token_secret.equals(std::string(40, 'f')));
    std::remove(s.c_str());
}

TEST(Config, ErrorsNameTheKey) {
    auto env = base_env();
    EXPECT_EQ(error_key(temp_file("no_such_key = 1\n"), env), "no_such_key");
    EXPECT_EQ(error_key(temp_file("workers = many\n"), env), "workers");
    EXPECT_EQ(error_key(temp_file("workers = 0\n"), env), "workers");
    EXPECT_EQ(error_key(temp_file("cookie.secure = perhaps\n"), env), "cookie.secure");
    EXPECT_EQ(error_key(temp_file("jwt.algorithm = none\n"), env), "jwt.algorithm");
    EXPECT_EQ(error_key(temp_file("auth.backends = jwt,oauth\n"), env), "auth.backends");
    EXPECT_EQ(error_key(temp_file("listen = /no/such/folder/fcgi.sock\n"), env), "listen");
    EXPECT_EQ(error_key(temp_file("listen = 127.0.0.1:notaport\n"), env), "listen");
    EXPECT_EQ(error_key(temp_file("listen = 127.0.0.1:99999999999999999999\n"), env), "listen");
    EXPECT_EQ(error_key(temp_file("listen = 127.0.0.1:065536\n"), env), "listen");
    EXPECT_EQ(error_key(temp_file("reset.secret_file = /tmp\n"), env), "reset.secret_file");
    EXPECT_EQ(error_key("/no/such/file.conf", env), "config");
    auto shortsecret = env;
    shortsecret["FCGI_USERS_RESET_SECRET"] = "short";
    EXPECT_EQ(error_key("", shortsecret), "reset.secret");
    auto missing = env;
    missing.erase("FCGI_USERS_VERIFY_SECRET");
    EXPECT_EQ(error_key("", missing), "verify.secret");
}

TEST(Config, DescribeMasksSecrets) {
    std::string d = Config::load("", base_env()).describe();
    EXPECT_EQ(d.find(kSecret), std::string::npos);
    EXPECT_NE(d.find("access_token.secret = ********"), std::string::npos);
    EXPECT_NE(d.find("db.password = (unset)"), std::string::npos);
    EXPECT_NE(d.find("workers = 8"), std::string::npos);
}

TEST(Config, EnvironmentNames) {
    EXPECT_EQ(env_name_for("log.level"), "FCGI_USERS_LOG_LEVEL");
    EXPECT_EQ(env_name_for("hook.after-register"), "FCGI_USERS_HOOK_AFTER_REGISTER");
}

TEST(Config, SessionsDefaultsAndChecks) {
    Config c = Config::load("", base_env());
    EXPECT_TRUE(c.backend_settings.at("jwt").refresh_tokens);
    EXPECT_FALSE(c.backend_settings.at("cookie").refresh_tokens);
    EXPECT_EQ(c.sessions.throttle_account_failures, 10);
    EXPECT_EQ(c.sessions.throttle_address_failures, 100);
    EXPECT_EQ(c.sessions.throttle_token_failures, 100);
    EXPECT_EQ(c.sessions.throttle_window, 900);
    EXPECT_EQ(c.sessions.refresh_lifetime, 30L * 86400);
    EXPECT_TRUE(c.sessions.trusted_proxies.empty());
    auto env = base_env();
    env["FCGI_USERS_BACKEND_COOKIE_REFRESH_TOKENS"] = "true";
    EXPECT_EQ(error_key("", env), "backend.cookie.refresh_tokens");
    env = base_env();
    env["FCGI_USERS_THROTTLE_TRUSTED_PROXIES"] = " 127.0.0.1, ::1 ,";
    EXPECT_EQ(Config::load("", env).sessions.trusted_proxies,
              (std::vector<std::string>{"127.0.0.1", "::1"}));
    env["FCGI_USERS_THROTTLE_TRUSTED_PROXIES"] = "10.0.0.0/8";
    EXPECT_EQ(error_key("", env), "throttle.trusted_proxies");
    env = base_env();
    env["FCGI_USERS_THROTTLE_ACCOUNT_FAILURES"] = "-1";
    EXPECT_EQ(error_key("", env), "throttle.account_failures");
    env["FCGI_USERS_THROTTLE_ACCOUNT_FAILURES"] = "0";
    EXPECT_EQ(Config::load("", env).sessions.throttle_account_failures, 0);
    EXPECT_NE(Config::load("", env).describe().find("throttle.window = 900\n"), std::string::npos);
}

TEST(Config, ShippedFileDocumentsEveryKey) {
    std::ifstream in(std::string(FCGI_USERS_SOURCE_DIR) + "/conf/fcgi-users.conf");
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), config_template())
        << "regenerate with: fcgi-users default-config > conf/fcgi-users.conf";
}

TEST(Config, TemplateIsAValidConfigurationFile) {
    std::string f = temp_file(config_template());
    EXPECT_NO_THROW(Config::load(f, base_env()));
    std::remove(f.c_str());
}

}  // namespace fu
