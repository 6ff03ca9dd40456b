// Config: every setting of fcgi-users, filled once at start-up from the
// defaults, the configuration file and FCGI_USERS_* environment variables
// (in that order), then passed around as const Config&. Nothing reads the
// environment or a file after load().
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/secret.h"

namespace fu {

// A bad configuration: names the key so that main can print one clear line.
class ConfigError : public std::runtime_error {
  public:
    ConfigError(std::string key, const std::string& message)
        : std::runtime_error(key + ": " + message), key_(std::move(key)) {}
    const std::string& key() const { return key_; }

  private:
    std::string key_;
};

enum class Transport { bearer, cookie };
enum class Strategy { jwt, database };

struct BackendConfig {
    std::string name;  // jwt, cookie or database
    Transport transport;
    Strategy strategy;
    std::string prefix;  // e.g. /auth/jwt
    bool requires_verification = false;
    bool refresh_tokens = false;  // login also answers a refresh token (bearer + jwt only)
};

struct CookieConfig {
    std::string name;
    long max_age = 0;  // 0: a session cookie, no Max-Age (as FastAPI Users)
    std::string path;
    std::string domain;
    bool secure = true;
    bool httponly = true;
    std::string samesite;
};

// The events of API.md, in the order of the Hooks section.
inline const std::vector<std::string>& hook_event_names() {
    static const std::vector<std::string> names = {
        "after_register", "after_login",           "after_update",         "after_request_verify",
        "after_verify",   "after_forgot_password", "after_reset_password", "before_delete",
        "after_delete",   "after_refresh_reuse"};
    return names;
}

struct HookConfig {
    std::map<std::string, std::string> commands;  // event -> shell text; empty = none
    long concurrency = 8;
    long timeout_seconds = 30;
    long lease_grace_seconds = 10;  // a claim lasts timeout + this; then another host may take it
    long max_attempts = 5;
    long backoff_seconds = 5;
    SecretString
        token_key;  // seals pending tokens at rest; empty: derived from access_token.secret
    long retention_seconds = 7L * 86400;  // delivered rows kept this long; 0: forever
    bool token_in_argv =
        true;  // the token as $2 (visible in ps) besides FCGI_USERS_TOKEN and stdin
    std::string workdir;
    std::string path;
};

// One OAuth2 / OpenID Connect provider (oauth.<name>.* keys).
struct OAuthProviderConfig {
    std::string name;    // as in oauth.providers: letters, digits, '_' and '-'
    std::string preset;  // oidc, google, microsoft or github
    std::string issuer;  // OIDC: where /.well-known/openid-configuration lives
    std::string client_id;
    SecretString client_secret;  // empty: a public client (PKCE alone)
    std::string redirect_url;
    std::string associate_redirect_url;
    std::vector<std::string> scopes;
    std::string backend;  // the login backend that answers the callback
    bool associate_by_email = false;
    bool is_verified_by_default = false;
};

struct OAuthConfig {
    std::string provider_names;
    std::vector<OAuthProviderConfig> providers;  // in the order of oauth.providers
    SecretString state_secret;
    SecretString token_key;
    long state_lifetime = 3600;
    long connect_timeout_ms = 3000;
    long timeout_ms = 10000;
    long max_response_bytes = 1024 * 1024;
    long outbound_slots = 4;
    long outbound_queue_limit = 64;
    // oauth.<name>.<field> as read, before finish() checks and applies them.
    std::map<std::string, std::map<std::string, std::string>> raw;
};

// Sessions that end: refresh tokens, failed-attempt throttling, the purge.
struct SessionConfig {
    long refresh_lifetime = 30L * 86400;
    long throttle_window = 900;            // seconds; also the longest lock-out
    long throttle_account_failures = 10;   // 0: no limit
    long throttle_address_failures = 100;  // 0: no limit
    long throttle_token_failures = 100;    // bad reset/verify tokens per address; 0: no limit
    long throttle_account_mails = 5;       // reset/verify events per user and window; 0: no limit
    std::vector<std::string> trusted_proxies;  // REMOTE_ADDRs whose X-Forwarded-For is believed
    std::string trusted_proxies_text;
    long purge_interval = 60;
};

struct Config {
    std::string listen;  // unix socket path, host:port, or empty for the inherited socket
    long workers = 8;
    long read_batch = 2;  // concurrent batched user reads; 0: off
    long hash_slots = 0;  // 0: one per core
    long hash_nice = 10;  // the hash threads' nice value
    long listen_backlog = 1024;
    long hash_queue_limit = 1024;
    long max_body_bytes = 65536;
    long request_body_timeout = 10;  // seconds
    std::string mount_prefix;
    std::string log_level;
    bool access_log = true;

    std::string db_socket;
    std::string db_host;  // one host or a comma list of host[:port] (a Galera cluster's nodes)
    long db_port = 3306;  // the port of a db_host entry without its own
    struct DbHost {
        std::string host;
        long port;
    };
    std::vector<DbHost> db_hosts;  // db_host parsed, in order
    long db_sync_wait = -1;        // wsrep_sync_wait; -1: 1 with several hosts, else unset
    long db_conflict_retries = 3;
    std::string db_user;
    SecretString db_password;
    std::string db_name;
    long db_statement_timeout = 5;  // seconds; 0: no limit
    std::string migrations_dir;

    long password_min_length = 8;
    long password_max_length = 128;
    long argon2_memory_kib = 19456;
    long argon2_iterations = 2;

    std::string jwt_algorithm;
    SecretString access_token_secret;
    long access_token_lifetime = 3600;
    long database_token_lifetime = 3600;
    SecretString reset_secret;
    long reset_lifetime = 3600;
    SecretString verify_secret;
    long verify_lifetime = 3600;

    std::string backend_names;
    std::map<std::string, BackendConfig> backend_settings;  // all three, enabled or not
    std::vector<BackendConfig> backends;                    // the enabled ones, in order
    CookieConfig cookie;
    HookConfig hooks;
    std::string check_path;
    OAuthConfig oauth;
    SessionConfig sessions;

    // Loads defaults, then `file` (if not empty), then the environment `env`
    // (a copy of environ as name -> value). Throws ConfigError.
    static Config load(const std::string& file, const std::map<std::string, std::string>& env);

    // Every key with its effective value, secrets masked, one "key = value" per line.
    std::string describe() const;
};

// The documented configuration file: every key, its default and its comment,
// commented out. conf/fcgi-users.conf is this text (a test keeps them equal).
std::string config_template();

// The environment variable that overrides a key: FCGI_USERS_ + upper case,
// dots and dashes as underscores.
std::string env_name_for(const std::string& key);

// Why `url` may not be a provider's URL (issuer, endpoints), or nullopt:
// https, or plain http on loopback only (tests and development).
std::optional<std::string> provider_url_problem(const std::string& url);

}  // namespace fu
