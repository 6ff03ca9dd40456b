// The key table: one row per setting drives parsing, the environment and
// _file overrides, check-config and the documented configuration file.
#include "config/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

namespace fu {
namespace {

struct Key {
    std::string name;
    std::string def;
    std::string doc;
    bool secret = false;
    std::function<void(Config&, const std::string&)> set;  // validates; throws ConfigError
    std::function<std::string(const Config&)> get;
};

template <typename F>
Key string_key(std::string name, std::string def, std::string doc, F f) {
    return Key{name,
               def,
               doc,
               false,
               [f](Config& c, const std::string& v) { f(c) = v; },
               [f](const Config& c) { return f(const_cast<Config&>(c)); }};
}

template <typename F>
Key path_key(std::string name, std::string def, std::string doc, F f) {
    // An URL path: empty, or starting with '/' and not ending with one.
    return Key{name,
               def,
               doc,
               false,
               [f, name](Config& c, const std::string& v) {
                   if (!v.empty() && (v[0] != '/' || (v.size() > 1 && v.back() == '/')))
                       throw ConfigError(
                           name, "must start with '/' and not end with '/' (got '" + v + "')");
                   f(c) = v == "/" ? "" : v;
               },
               [f](const Config& c) { return f(const_cast<Config&>(c)); }};
}

template <typename F>
Key int_key(std::string name, long def, long min, long max, std::string doc, F f) {
    return Key{name,
               std::to_string(def),
               doc,
               false,
               [f, name, min, max](Config& c, const std::string& v) {
                   errno = 0;
                   char* end = nullptr;
                   long n = std::strtol(v.c_str(), &end, 10);
                   if (v.empty() || *end != '\0' || errno != 0)
                       throw ConfigError(name, "not a whole number: '" + v + "'");
                   if (n < min || n > max)
                       throw ConfigError(name, "must be between " + std::to_string(min) + " and " +
                                                   std::to_string(max) + " (got " + v + ")");
                   f(c) = n;
               },
               [f](const Config& c) { return std::to_string(f(const_cast<Config&>(c))); }};
}

template <typename F>
Key bool_key(std::string name, bool def, std::string doc, F f) {
    return Key{name,
               def ? "true" : "false",
               doc,
               false,
               [f, name](Config& c, const std::string& v) {
                   if (v == "true" || v == "yes" || v == "on" || v == "1") {
                       f(c) = true;
                   } else if (v == "false" || v == "no" || v == "off" || v == "0") {
                       f(c) = false;
                   } else {
                       throw ConfigError(name, "must be true or false (got '" + v + "')");
                   }
               },
               [f](const Config& c) { return f(const_cast<Config&>(c)) ? "true" : "false"; }};
}

template <typename F>
Key enum_key(std::string name, std::string def, std::vector<std::string> allowed, std::string doc,
             F f) {
    return Key{name,
               def,
               doc,
               false,
               [f, name, allowed](Config& c, const std::string& v) {
                   if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
                       std::string list;
                       for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
                       throw ConfigError(name, "must be one of " + list + " (got '" + v + "')");
                   }
                   f(c) = v;
               },
               [f](const Config& c) { return f(const_cast<Config&>(c)); }};
}

// min_size 0: may be empty (a database password); otherwise required.
template <typename F>
Key secret_key(std::string name, size_t min_size, std::string doc, F f) {
    return Key{name,
               "",
               doc,
               true,
               [f, name, min_size](Config& c, const std::string& v) {
                   if (min_size > 0 && v.size() < min_size)
                       throw ConfigError(
                           name, "secret is shorter than " + std::to_string(min_size) + " bytes");
                   f(c) = SecretString(v);
               },
               [f](const Config& c) {
                   return f(const_cast<Config&>(c)).empty() ? std::string("(unset)")
                                                            : std::string("********");
               }};
}

std::string trim(std::string s) {
    auto not_space = [](unsigned char ch) { return !std::isspace(ch); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

constexpr size_t kMinSecretBytes = 32;

std::vector<Key> make_keys() {
    std::vector<Key> k;
    k.push_back(string_key(
        "listen", "",
        "FastCGI socket: a unix socket path, or host:port. Empty: the socket systemd "
        "passes (LISTEN_FDS), else the one on descriptor 0 (spawn-fcgi, mod_fcgid).",
        [](Config & c) -> auto& { return c.listen; }));
    k.push_back(int_key(
        "workers", 8, 1, 1024, "Worker threads, each serving one FastCGI connection at a time.",
        [](Config & c) -> auto& { return c.workers; }));
    k.push_back(int_key(
        "read_batch", 2, 0, 64,
        "Authenticated requests that arrive together read their users in one statement: at "
        "most this many such statements run at once, each for up to 16 users (a request joins "
        "only a read that has not started, so a change made by SQL still counts on the next "
        "request). 0: every request reads its own user.",
        [](Config & c) -> auto& { return c.read_batch; }));
    k.push_back(int_key(
        "hash_slots", 0, 0, 1024,
        "Passwords hashed at once (logins, registrations, password changes), and the hash "
        "helpers. Two threads per slot finish those requests, so that one reads the user or "
        "writes the session while the other's password is hashed. 0: one per core.",
        [](Config & c) -> auto& { return c.hash_slots; }));
    k.push_back(int_key(
        "hash_nice", 10, 0, 19,
        "How much nicer than the process passwords are hashed (0-19, capped at nice 19): the "
        "hash threads, and the hash helper processes (one per slot, each in a session of its "
        "own at this nice value too), so that token checks, the database and the web server "
        "run first while logins hash, and a login storm does not delay authenticated "
        "requests. 0: no helpers, hashing at the process's own priority.",
        [](Config & c) -> auto& { return c.hash_nice; }));
    k.push_back(int_key(
        "hash_queue_limit", 1024, 1, 1000000,
        "Requests waiting for a hash slot (logins, registrations, password changes) before "
        "more are refused with 503.",
        [](Config & c) -> auto& { return c.hash_queue_limit; }));
    k.push_back(int_key(
        "listen_backlog", 1024, 1, 65535,
        "Backlog of the listening socket. A unix socket refuses a connection at once when it "
        "is full (nginx answers 502), so keep it above the web server's concurrent requests.",
        [](Config & c) -> auto& { return c.listen_backlog; }));
    k.push_back(int_key(
        "max_body_bytes", 65536, 1024, 64L * 1024 * 1024,
        "Largest request body accepted; a larger one gets 413.",
        [](Config & c) -> auto& { return c.max_body_bytes; }));
    k.push_back(int_key(
        "request_body_timeout", 10, 1, 3600,
        "Seconds a worker waits for a whole request body (after that, 408), and for the rest "
        "of a request's FastCGI parameters once some have come (after that, the connection "
        "is closed).",
        [](Config & c) -> auto& { return c.request_body_timeout; }));
    k.push_back(path_key(
        "mount_prefix", "",
        "URL prefix under which nginx mounts the API (e.g. /api); stripped before routing.",
        [](Config & c) -> auto& { return c.mount_prefix; }));
    k.push_back(enum_key(
        "log.level", "info", {"debug", "info", "warn", "error"},
        "Least severe level written to stderr.", [](Config & c) -> auto& { return c.log_level; }));
    k.push_back(bool_key(
        "log.access", true, "One line per request: method, path, status, time.",
        [](Config & c) -> auto& { return c.access_log; }));

    k.push_back(string_key(
        "db.socket", "", "MariaDB unix socket; when set, db.host and db.port are unused.",
        [](Config & c) -> auto& { return c.db_socket; }));
    k.push_back(string_key(
        "db.host", "127.0.0.1",
        "MariaDB host, or a comma list of host[:port] (the nodes of a Galera cluster): a "
        "connection starts on the first and moves to the next when a connect fails or its "
        "connection is lost.",
        [](Config & c) -> auto& { return c.db_host; }));
    k.push_back(int_key(
        "db.port", 3306, 1, 65535, "MariaDB TCP port (of each db.host entry without its own).",
        [](Config & c) -> auto& { return c.db_port; }));
    k.push_back(int_key(
        "db.sync_wait", -1, -1, 15,
        "wsrep_sync_wait of each connection (Galera: reads wait for the cluster's earlier "
        "writes; 1 reads, 3 also updates and deletes, 7 also inserts). -1: 1 when db.host "
        "names several hosts, else not set. 0: not set.",
        [](Config & c) -> auto& { return c.db_sync_wait; }));
    k.push_back(int_key(
        "db.conflict_retries", 3, 1, 20,
        "Times a transaction or statement runs again when the database refused it (deadlock "
        "or Galera certification failure 1213, node not ready 1047, connection lost before "
        "COMMIT); then 503.",
        [](Config & c) -> auto& { return c.db_conflict_retries; }));
    k.push_back(string_key(
        "db.user", "fcgi_users", "MariaDB user.", [](Config & c) -> auto& { return c.db_user; }));
    k.push_back(secret_key(
        "db.password", 0, "MariaDB password (or db.password_file).",
        [](Config & c) -> auto& { return c.db_password; }));
    k.push_back(string_key(
        "db.name", "fcgi_users", "MariaDB database.",
        [](Config & c) -> auto& { return c.db_name; }));
    k.push_back(int_key(
        "db.statement_timeout", 5, 0, 3600,
        "Seconds one SQL statement may take, waits for locks included; past it the request "
        "gets 503. Keep it below the web server's FastCGI read timeout (nginx: 60 s, the "
        "examples: 30 s). 0: no limit.",
        [](Config & c) -> auto& { return c.db_statement_timeout; }));
    k.push_back(string_key(
        "migrations_dir", "/usr/share/fcgi-users/sql",
        "Folder of the numbered .sql migrations that `fcgi-users migrate` applies.",
        [](Config & c) -> auto& { return c.migrations_dir; }));

    k.push_back(int_key(
        "password.min_length", 8, 1, 1024, "Shortest password accepted.",
        [](Config & c) -> auto& { return c.password_min_length; }));
    k.push_back(int_key(
        "password.max_length", 128, 8, 4096,
        "Longest password accepted (a bound on the work one request can cause).",
        [](Config & c) -> auto& { return c.password_max_length; }));
    k.push_back(int_key(
        "password.argon2_memory_kib", 19456, 8192, 4 * 1024 * 1024,
        "argon2id memory per hash in KiB (OWASP minimum: 19456).",
        [](Config & c) -> auto& { return c.argon2_memory_kib; }));
    k.push_back(int_key(
        "password.argon2_iterations", 2, 1, 100,
        "argon2id iterations (OWASP minimum with 19 MiB: 2).",
        [](Config & c) -> auto& { return c.argon2_iterations; }));

    k.push_back(enum_key(
        "jwt.algorithm", "HS256", {"HS256", "HS512"}, "The only JWT algorithm accepted and issued.",
        [](Config & c) -> auto& { return c.jwt_algorithm; }));
    k.push_back(secret_key(
        "access_token.secret", kMinSecretBytes,
        "Key of access JWTs, at least 32 bytes (or access_token.secret_file). Required.",
        [](Config & c) -> auto& { return c.access_token_secret; }));
    k.push_back(int_key(
        "access_token.lifetime", 3600, 1, 365L * 86400, "Access JWT lifetime in seconds.",
        [](Config & c) -> auto& { return c.access_token_lifetime; }));
    k.push_back(int_key(
        "database_token.lifetime", 3600, 1, 365L * 86400,
        "Lifetime of database-strategy tokens in seconds.",
        [](Config & c) -> auto& { return c.database_token_lifetime; }));
    k.push_back(secret_key(
        "reset.secret", kMinSecretBytes,
        "Key of reset-password tokens, at least 32 bytes (or reset.secret_file). Required.",
        [](Config & c) -> auto& { return c.reset_secret; }));
    k.push_back(int_key(
        "reset.lifetime", 3600, 1, 30L * 86400, "Reset-password token lifetime in seconds.",
        [](Config & c) -> auto& { return c.reset_lifetime; }));
    k.push_back(secret_key(
        "verify.secret", kMinSecretBytes,
        "Key of verification tokens, at least 32 bytes (or verify.secret_file). Required.",
        [](Config & c) -> auto& { return c.verify_secret; }));
    k.push_back(int_key(
        "verify.lifetime", 3600, 1, 30L * 86400, "Verification token lifetime in seconds.",
        [](Config & c) -> auto& { return c.verify_lifetime; }));

    k.push_back(string_key(
        "auth.backends", "jwt,cookie,database",
        "Enabled backends, in the order credentials are tried: jwt (bearer header), "
        "cookie (cookie), database (bearer header, database strategy).",
        [](Config & c) -> auto& { return c.backend_names; }));
    struct Default {
        const char* name;
        const char* prefix;
        const char* strategy;
    };
    for (const Default d :
         {Default{"jwt", "/auth/jwt", "jwt"}, Default{"cookie", "/auth/cookie", "jwt"},
          Default{"database", "/auth/database", "database"}}) {
        std::string n = d.name;
        std::string base = "backend." + n;
        k.push_back(path_key(
            base + ".prefix", d.prefix,
            "Routes of the " + n + " backend: {prefix}/login and {prefix}/logout.",
            [n](Config & c) -> auto& { return c.backend_settings[n].prefix; }));
        k.push_back(
            Key{base + ".strategy", d.strategy,
                "What the " + n + " backend's token is: jwt (stateless) or database (revocable).",
                false,
                [n, base](Config& c, const std::string& v) {
                    if (v == "jwt") {
                        c.backend_settings[n].strategy = Strategy::jwt;
                    } else if (v == "database") {
                        c.backend_settings[n].strategy = Strategy::database;
                    } else {
                        throw ConfigError(base + ".strategy",
                                          "must be jwt or database (got '" + v + "')");
                    }
                },
                [n](const Config& c) {
                    return c.backend_settings.at(n).strategy == Strategy::jwt ? "jwt" : "database";
                }});
        k.push_back(bool_key(
            base + ".requires_verification", false,
            "Log-in through the " + n + " backend only for verified users.",
            [n](Config & c) -> auto& { return c.backend_settings[n].requires_verification; }));
        k.push_back(bool_key(
            base + ".refresh_tokens", n == "jwt",
            "Login through the " + n + " backend also answers a refresh_token, and " + d.prefix +
                "/refresh trades it for a new pair (bearer transport, jwt "
                "strategy only).",
            [n](Config & c) -> auto& { return c.backend_settings[n].refresh_tokens; }));
    }
    k.push_back(int_key(
        "refresh_token.lifetime", 30L * 86400, 60, 365L * 86400,
        "Lifetime of a refresh token in seconds (each use spends it and gives a new one).",
        [](Config & c) -> auto& { return c.sessions.refresh_lifetime; }));
    k.push_back(int_key(
        "throttle.window", 900, 1, 86400,
        "Seconds over which failed logins and bad reset/verify tokens are counted; also the "
        "longest an account or address is refused.",
        [](Config & c) -> auto& { return c.sessions.throttle_window; }));
    k.push_back(int_key(
        "throttle.account_failures", 10, 0, 1000000,
        "Failed logins for one e-mail address within the window before logins to it answer "
        "429. 0: no limit.",
        [](Config & c) -> auto& { return c.sessions.throttle_account_failures; }));
    k.push_back(int_key(
        "throttle.address_failures", 100, 0, 1000000,
        "Failed logins from one client address within the window before its logins answer "
        "429. 0: no limit.",
        [](Config & c) -> auto& { return c.sessions.throttle_address_failures; }));
    k.push_back(int_key(
        "throttle.token_failures", 100, 0, 1000000,
        "Bad reset-password and verify tokens from one client address within the window "
        "before those routes answer 429. 0: no limit.",
        [](Config & c) -> auto& { return c.sessions.throttle_token_failures; }));
    k.push_back(int_key(
        "throttle.account_mails", 5, 0, 1000000,
        "Reset-password events (the hook that mails a token) for one user within the window, "
        "and apart from them verify events; more forgot-password or request-verify-token "
        "requests are answered 202 as always and record nothing. 0: no limit.",
        [](Config & c) -> auto& { return c.sessions.throttle_account_mails; }));
    k.push_back(Key{"throttle.trusted_proxies", "",
                    "Comma-separated proxy addresses (REMOTE_ADDR as nginx passes it) whose "
                    "X-Forwarded-For names the client. Empty: REMOTE_ADDR is the client.",
                    false,
                    [](Config& c, const std::string& v) {
                        c.sessions.trusted_proxies_text = v;
                        c.sessions.trusted_proxies.clear();
                        std::stringstream ss(v);
                        for (std::string a; std::getline(ss, a, ',');) {
                            a = trim(a);
                            if (a.find_first_of(" \t/") != std::string::npos)
                                throw ConfigError(
                                    "throttle.trusted_proxies",
                                    "one address per entry, no masks (got '" + a + "')");
                            if (!a.empty()) c.sessions.trusted_proxies.push_back(a);
                        }
                    },
                    [](const Config& c) { return c.sessions.trusted_proxies_text; }});
    k.push_back(int_key(
        "sessions.purge_interval", 60, 1, 86400,
        "Seconds between purges of expired revoked token ids, refresh tokens and "
        "throttle counters.",
        [](Config & c) -> auto& { return c.sessions.purge_interval; }));

    k.push_back(string_key(
        "cookie.name", "fastapiusersauth", "Name of the auth cookie.",
        [](Config & c) -> auto& { return c.cookie.name; }));
    k.push_back(int_key(
        "cookie.max_age", 0, 0, 365L * 86400,
        "Max-Age of the cookie in seconds; 0: none (a session cookie).",
        [](Config & c) -> auto& { return c.cookie.max_age; }));
    k.push_back(string_key(
        "cookie.path", "/", "Path of the cookie.",
        [](Config & c) -> auto& { return c.cookie.path; }));
    k.push_back(string_key(
        "cookie.domain", "", "Domain of the cookie; empty: none.",
        [](Config & c) -> auto& { return c.cookie.domain; }));
    k.push_back(bool_key(
        "cookie.secure", true, "Send the cookie over HTTPS only.",
        [](Config & c) -> auto& { return c.cookie.secure; }));
    k.push_back(bool_key(
        "cookie.httponly", true, "Hide the cookie from JavaScript.",
        [](Config & c) -> auto& { return c.cookie.httponly; }));
    k.push_back(enum_key(
        "cookie.samesite", "lax", {"lax", "strict", "none"}, "SameSite of the cookie.",
        [](Config & c) -> auto& { return c.cookie.samesite; }));

    for (const auto& ev : hook_event_names()) {
        k.push_back(string_key(
            "hook." + ev, "",
            "Shell command run after " + ev +
                " as /bin/sh -c CMD fcgi-users USER_ID [TOKEN]; empty: none.",
            [ev](Config & c) -> auto& { return c.hooks.commands[ev]; }));
    }
    k.push_back(int_key(
        "hook.concurrency", 8, 0, 64,
        "Hook commands run at once (delivery slots); 0: this process records events but "
        "delivers none (another fcgi-users on the same database does).",
        [](Config & c) -> auto& { return c.hooks.concurrency; }));
    k.push_back(int_key(
        "hook.timeout", 30, 1, 3600, "Seconds before a hook's process group is killed.",
        [](Config & c) -> auto& { return c.hooks.timeout_seconds; }));
    k.push_back(int_key(
        "hook.lease_grace", 10, 1, 3600,
        "Seconds past hook.timeout that a claimed event stays leased to the host running it; "
        "after that, if that host never reported (killed, cut off), another host delivers it.",
        [](Config & c) -> auto& { return c.hooks.lease_grace_seconds; }));
    k.push_back(int_key(
        "hook.max_attempts", 5, 1, 100, "Attempts before a hook is left as failed.",
        [](Config & c) -> auto& { return c.hooks.max_attempts; }));
    k.push_back(int_key(
        "hook.backoff", 5, 1, 86400, "Seconds before the first retry; doubled each time.",
        [](Config & c) -> auto& { return c.hooks.backoff_seconds; }));
    k.push_back(secret_key(
        "hook.token_key", 0,
        "Key (32 bytes or more) sealing the tokens of pending hook events in the database "
        "(or hook.token_key_file); empty: derived from access_token.secret.",
        [](Config & c) -> auto& { return c.hooks.token_key; }));
    k.push_back(int_key(
        "hook.retention", 7L * 86400, 0, 3650L * 86400,
        "Seconds a delivered hook event stays in table hook_event before it is deleted; 0: kept.",
        [](Config & c) -> auto& { return c.hooks.retention_seconds; }));
    k.push_back(bool_key(
        "hook.token_in_argv", true,
        "Pass the token as $2, which any local user can read in ps while the hook runs; "
        "false: $2 is empty and the token is only in FCGI_USERS_TOKEN and on stdin.",
        [](Config & c) -> auto& { return c.hooks.token_in_argv; }));
    k.push_back(string_key(
        "hook.workdir", "/", "Working directory of hook commands.",
        [](Config & c) -> auto& { return c.hooks.workdir; }));
    k.push_back(string_key(
        "hook.path", "/usr/local/bin:/usr/bin:/bin",
        "PATH of hook commands (their only other variables are HOME, LANG and FCGI_USERS_*).",
        [](Config & c) -> auto& { return c.hooks.path; }));
    k.push_back(path_key(
        "check.path", "/auth/check", "Route answering nginx auth_request.",
        [](Config & c) -> auto& { return c.check_path; }));

    k.push_back(string_key(
        "oauth.providers", "",
        "OAuth2 / OpenID Connect providers, by name (e.g. google,github,corp); each is "
        "set up by the oauth.<name>.* keys described at the end. Empty: no OAuth routes.",
        [](Config & c) -> auto& { return c.oauth.provider_names; }));
    k.push_back(secret_key(
        "oauth.state_secret", kMinSecretBytes,
        "Key of the OAuth state JWTs, at least 32 bytes (or oauth.state_secret_file). "
        "Required when oauth.providers is set.",
        [](Config & c) -> auto& { return c.oauth.state_secret; }));
    k.push_back(secret_key(
        "oauth.token_key", kMinSecretBytes,
        "Key that encrypts the providers' tokens in table oauth_account, at least 32 "
        "bytes (or oauth.token_key_file). Required when oauth.providers is set.",
        [](Config & c) -> auto& { return c.oauth.token_key; }));
    k.push_back(int_key(
        "oauth.state_lifetime", 3600, 60, 86400,
        "Seconds a login through a provider may take (the state JWT's lifetime).",
        [](Config & c) -> auto& { return c.oauth.state_lifetime; }));
    k.push_back(int_key(
        "oauth.connect_timeout_ms", 3000, 100, 60000, "Milliseconds to connect to a provider.",
        [](Config & c) -> auto& { return c.oauth.connect_timeout_ms; }));
    k.push_back(int_key(
        "oauth.timeout_ms", 10000, 100, 120000,
        "Milliseconds all calls to providers for one request may take together; past "
        "them the answer is 502 OAUTH_PROVIDER_UNAVAILABLE.",
        [](Config & c) -> auto& { return c.oauth.timeout_ms; }));
    k.push_back(int_key(
        "oauth.max_response_bytes", 1024 * 1024, 4096, 64L * 1024 * 1024,
        "Largest answer read from a provider; a larger one is refused.",
        [](Config & c) -> auto& { return c.oauth.max_response_bytes; }));
    k.push_back(int_key(
        "oauth.outbound_slots", 4, 1, 256,
        "Threads that serve the OAuth routes (they wait on providers), apart from the "
        "workers, so that a slow provider never holds the threads /users/me needs.",
        [](Config & c) -> auto& { return c.oauth.outbound_slots; }));
    k.push_back(int_key(
        "oauth.outbound_queue_limit", 64, 1, 100000,
        "OAuth requests waiting for an outbound slot before more are refused with 503.",
        [](Config & c) -> auto& { return c.oauth.outbound_queue_limit; }));
    return k;
}

// The keys of each provider, oauth.<name>.<field>: not rows of the table,
// since the names come from oauth.providers.
struct ProviderField {
    const char* field;
    const char* def;
    const char* doc;
};
const std::vector<ProviderField>& provider_fields() {
    static const std::vector<ProviderField> fields = {
        {"preset", "oidc",
         "oidc (any OpenID Connect issuer, found by discovery), google, microsoft or github."},
        {"issuer", "",
         "OIDC issuer URL (https, or http on loopback). Defaults: google "
         "https://accounts.google.com, "
         "microsoft https://login.microsoftonline.com/common/v2.0; unused for github."},
        {"client_id", "", "The client id the provider gave this site. Required."},
        {"client_secret", "",
         "The client secret (or oauth.<name>.client_secret_file); empty: a public client using "
         "PKCE alone."},
        {"redirect_url", "",
         "The callback URL registered at the provider, e.g. https://site/auth/<name>/callback. "
         "Required."},
        {"associate_redirect_url", "",
         "The associate callback URL; default: redirect_url with /auth/<name>/callback turned into "
         "/auth/associate/<name>/callback."},
        {"scopes", "",
         "Scopes asked for, space or comma separated; default openid email (github: user:email)."},
        {"backend", "jwt",
         "The login backend (jwt, cookie, database) whose answer the callback gives."},
        {"associate_by_email", "false",
         "Link a provider account to the existing user with the same verified e-mail."},
        {"is_verified_by_default", "false", "Users created through this provider start verified."},
    };
    return fields;
}

bool is_provider_field(const std::string& f) {
    for (const auto& pf : provider_fields())
        if (f == pf.field) return true;
    return false;
}

const std::vector<Key>& keys() {
    static const std::vector<Key> table = make_keys();
    return table;
}

std::string read_secret_file(const std::string& key, const std::string& path) {
    // An ifstream opens a folder, then throws on the first read: refuse it here.
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw ConfigError(key, "'" + path + "' is not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(key, "cannot read '" + path + "'");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// Applies one key = value, where name may be a secret's "<key>_file".
void apply(Config& c, const std::string& name, const std::string& value, const std::string& where) {
    for (const auto& k : keys()) {
        if (k.name == name) {
            k.set(c, value);
            return;
        }
        if (k.secret && name == k.name + "_file") {
            k.set(c, read_secret_file(name, value));
            return;
        }
    }
    // oauth.<provider>.<field>: kept until finish() knows the providers.
    if (name.rfind("oauth.", 0) == 0) {
        auto dot = name.find('.', 6);
        if (dot != std::string::npos && dot > 6) {
            std::string provider = name.substr(6, dot - 6), field = name.substr(dot + 1);
            if (field == "client_secret_file") {
                c.oauth.raw[provider]["client_secret"] = read_secret_file(name, value);
                return;
            }
            if (is_provider_field(field)) {
                c.oauth.raw[provider][field] = value;
                return;
            }
        }
    }
    throw ConfigError(name, "unknown key" + where);
}

void check_listen(const std::string& listen) {
    if (listen.empty() || listen.find('/') == std::string::npos) {
        if (!listen.empty()) {
            auto colon = listen.rfind(':');
            if (colon == std::string::npos || colon + 1 == listen.size())
                throw ConfigError("listen",
                                  "must be a socket path or host:port (got '" + listen + "')");
            std::string port = listen.substr(colon + 1);
            // At most five digits before converting: a longer number would overflow.
            if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
                std::stol(port) > 65535)
                throw ConfigError("listen", "bad port in '" + listen + "'");
        }
        return;
    }
    std::string dir = listen.substr(0, listen.rfind('/'));
    if (dir.empty()) dir = "/";
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw ConfigError("listen", "folder of socket path '" + listen + "' does not exist");
    if (access(dir.c_str(), W_OK | X_OK) != 0)
        throw ConfigError("listen", "folder of socket path '" + listen + "' is not writable");
    if (listen.size() >= 108) throw ConfigError("listen", "socket path longer than 107 bytes");
}

void check_provider_url(const std::string& key, const std::string& url) {
    if (auto problem = provider_url_problem(url)) throw ConfigError(key, *problem);
}

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : s + " ") {
        if (ch == ',' || std::isspace(static_cast<unsigned char>(ch))) {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    return out;
}

bool parse_bool(const std::string& key, const std::string& v) {
    if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
    if (v == "false" || v == "no" || v == "off" || v == "0" || v.empty()) return false;
    throw ConfigError(key, "must be true or false (got '" + v + "')");
}

OAuthProviderConfig make_provider(const Config& c, const std::string& name,
                                  const std::map<std::string, std::string>& raw) {
    auto get = [&](const char* field) {
        auto it = raw.find(field);
        if (it != raw.end()) return it->second;
        for (const auto& pf : provider_fields())
            if (std::string(field) == pf.field) return std::string(pf.def);
        return std::string();
    };
    auto key = [&](const char* field) { return "oauth." + name + "." + field; };
    OAuthProviderConfig p;
    p.name = name;
    p.preset = get("preset");
    if (p.preset != "oidc" && p.preset != "google" && p.preset != "microsoft" &&
        p.preset != "github")
        throw ConfigError(key("preset"), "must be one of oidc, google, microsoft, github (got '" +
                                             p.preset + "')");
    p.issuer = get("issuer");
    if (p.issuer.empty() && p.preset == "google") p.issuer = "https://accounts.google.com";
    if (p.issuer.empty() && p.preset == "microsoft")
        p.issuer = "https://login.microsoftonline.com/common/v2.0";
    if (p.preset == "github") {
        if (!p.issuer.empty()) throw ConfigError(key("issuer"), "is not used by the github preset");
    } else {
        if (p.issuer.empty())
            throw ConfigError(key("issuer"), "is required for an OpenID Connect provider");
        while (p.issuer.size() > 1 && p.issuer.back() == '/') p.issuer.pop_back();
        check_provider_url(key("issuer"), p.issuer);
    }
    p.client_id = get("client_id");
    if (p.client_id.empty()) throw ConfigError(key("client_id"), "is required");
    p.client_secret = SecretString(get("client_secret"));
    p.redirect_url = get("redirect_url");
    if (p.redirect_url.empty()) throw ConfigError(key("redirect_url"), "is required");
    if (p.redirect_url.rfind("https://", 0) != 0 && p.redirect_url.rfind("http://", 0) != 0)
        throw ConfigError(key("redirect_url"), "must be an absolute http(s) URL");
    p.associate_redirect_url = get("associate_redirect_url");
    if (p.associate_redirect_url.empty()) {
        std::string tail = "/auth/" + name + "/callback";
        auto at = p.redirect_url.find(tail);
        if (at == std::string::npos)
            throw ConfigError(key("associate_redirect_url"),
                              "is required when redirect_url does not contain " + tail);
        p.associate_redirect_url = p.redirect_url.substr(0, at) + "/auth/associate/" + name +
                                   "/callback" + p.redirect_url.substr(at + tail.size());
    }
    p.scopes = split_list(get("scopes"));
    if (p.scopes.empty())
        p.scopes = p.preset == "github" ? std::vector<std::string>{"user:email"}
                                        : std::vector<std::string>{"openid", "email"};
    if (p.preset != "github" &&
        std::find(p.scopes.begin(), p.scopes.end(), "openid") == p.scopes.end())
        throw ConfigError(key("scopes"), "must include openid for an OpenID Connect provider");
    p.backend = get("backend");
    bool enabled = false;
    for (const auto& b : c.backends) enabled = enabled || b.name == p.backend;
    if (!enabled)
        throw ConfigError(key("backend"),
                          "'" + p.backend + "' is not an enabled backend (auth.backends)");
    p.associate_by_email = parse_bool(key("associate_by_email"), get("associate_by_email"));
    p.is_verified_by_default =
        parse_bool(key("is_verified_by_default"), get("is_verified_by_default"));
    return p;
}

void finish_oauth(Config& c) {
    c.oauth.providers.clear();
    std::vector<std::string> names = split_list(c.oauth.provider_names);
    for (const auto& n : names) {
        if (n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos ||
            n.size() > 64)
            throw ConfigError("oauth.providers",
                              "'" + n + "': a name is lower-case letters, digits, '_' and '-'");
        if (n == "associate")
            throw ConfigError("oauth.providers", "'associate' is the associate routes' prefix");
        if (std::count(names.begin(), names.end(), n) > 1)
            throw ConfigError("oauth.providers", "provider '" + n + "' named twice");
    }
    for (const auto& [provider, fields] : c.oauth.raw) {
        if (std::find(names.begin(), names.end(), provider) == names.end())
            throw ConfigError("oauth." + provider + "." + fields.begin()->first,
                              "provider '" + provider + "' is not in oauth.providers");
    }
    for (const auto& n : names) c.oauth.providers.push_back(make_provider(c, n, c.oauth.raw[n]));
    if (c.oauth.providers.empty()) return;
    for (const auto& [key, secret] : {std::pair{"oauth.state_secret", &c.oauth.state_secret},
                                      std::pair{"oauth.token_key", &c.oauth.token_key}}) {
        if (secret->empty())
            throw ConfigError(key, "is required with oauth.providers (set it, " + std::string(key) +
                                       "_file, or " + env_name_for(key) + ")");
    }
}

// db.host: host[:port], comma separated; [v6-address]:port too.
void finish_db_hosts(Config& c) {
    c.db_hosts.clear();
    std::stringstream ss(c.db_host);
    std::string item;
    while (std::getline(ss, item, ',')) {
        item = trim(item);
        if (item.empty()) throw ConfigError("db.host", "empty entry in '" + c.db_host + "'");
        std::string host = item, port;
        if (item[0] == '[') {
            auto close = item.find(']');
            if (close == std::string::npos)
                throw ConfigError("db.host", "unclosed '[' in '" + item + "'");
            host = item.substr(1, close - 1);
            if (close + 1 < item.size()) {
                if (item[close + 1] != ':')
                    throw ConfigError("db.host", "expected ':port' after ']' in '" + item + "'");
                port = item.substr(close + 2);
            }
        } else if (auto colon = item.find(':'); colon != std::string::npos) {
            if (item.find(':', colon + 1) != std::string::npos)
                throw ConfigError("db.host",
                                  "write an IPv6 address as [address]:port ('" + item + "')");
            host = item.substr(0, colon);
            port = item.substr(colon + 1);
        }
        if (host.empty()) throw ConfigError("db.host", "no host in '" + item + "'");
        long p = c.db_port;
        if (!port.empty() || item.back() == ':') {
            char* end = nullptr;
            errno = 0;
            p = std::strtol(port.c_str(), &end, 10);
            if (port.empty() || *end != '\0' || errno != 0 || p < 1 || p > 65535)
                throw ConfigError("db.host", "port must be 1 to 65535 in '" + item + "'");
        }
        c.db_hosts.push_back({host, p});
    }
    if (c.db_hosts.empty()) throw ConfigError("db.host", "names no host");
}

void finish(Config& c) {
    finish_db_hosts(c);
    c.backends.clear();
    std::stringstream ss(c.backend_names);
    std::string name;
    while (std::getline(ss, name, ',')) {
        name = trim(name);
        if (name.empty()) continue;
        auto it = c.backend_settings.find(name);
        if (it == c.backend_settings.end())
            throw ConfigError("auth.backends",
                              "unknown backend '" + name + "' (known: jwt, cookie, database)");
        for (const auto& b : c.backends)
            if (b.name == name)
                throw ConfigError("auth.backends", "backend '" + name + "' named twice");
        for (const auto& b : c.backends)
            if (b.prefix == it->second.prefix)
                throw ConfigError("backend." + name + ".prefix",
                                  "same prefix as backend " + b.name);
        c.backends.push_back(it->second);
    }
    if (c.backends.empty()) throw ConfigError("auth.backends", "no backend enabled");
    for (const auto& b : c.backends)
        if (b.refresh_tokens && (b.transport != Transport::bearer || b.strategy != Strategy::jwt))
            throw ConfigError("backend." + b.name + ".refresh_tokens",
                              "needs the bearer transport and the jwt strategy");
    if (!c.hooks.token_key.empty() && c.hooks.token_key.size() < kMinSecretBytes)
        throw ConfigError("hook.token_key",
                          "secret is shorter than " + std::to_string(kMinSecretBytes) + " bytes");
    for (const auto& [key, secret] : {std::pair{"access_token.secret", &c.access_token_secret},
                                      std::pair{"reset.secret", &c.reset_secret},
                                      std::pair{"verify.secret", &c.verify_secret}}) {
        if (secret->empty())
            throw ConfigError(key, "is required (set it, " + std::string(key) + "_file, or " +
                                       env_name_for(key) + ")");
    }
    if (c.password_min_length > c.password_max_length)
        throw ConfigError("password.min_length", "is larger than password.max_length");
    if (c.cookie.samesite == "none" && !c.cookie.secure)
        throw ConfigError("cookie.samesite", "none requires cookie.secure = true");
    check_listen(c.listen);
    finish_oauth(c);
}

}  // namespace

std::optional<std::string> provider_url_problem(const std::string& url) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return "must be an absolute URL (got '" + url + "')";
    std::string scheme = url.substr(0, scheme_end);
    std::string rest = url.substr(scheme_end + 3);
    std::string authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.find('@') != std::string::npos)
        return "must not hold credentials (got '" + url + "')";
    std::string host = authority;
    if (!host.empty() && host[0] == '[') {
        host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
        host = host.substr(0, colon);
    }
    if (host.empty()) return "has no host (got '" + url + "')";
    if (scheme == "https") return std::nullopt;
    bool loopback =
        host == "localhost" || host == "[::1]" ||
        (host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string::npos);
    if (scheme == "http" && loopback) return std::nullopt;
    return "must be https (http only on loopback) (got '" + url + "')";
}

std::string env_name_for(const std::string& key) {
    std::string out = "FCGI_USERS_";
    for (char ch : key) out += (ch == '.' || ch == '-') ? '_' : static_cast<char>(std::toupper(ch));
    return out;
}

Config Config::load(const std::string& file, const std::map<std::string, std::string>& env) {
    Config c;
    c.backend_settings["jwt"] = {"jwt", Transport::bearer, Strategy::jwt, "", false};
    c.backend_settings["cookie"] = {"cookie", Transport::cookie, Strategy::jwt, "", false};
    c.backend_settings["database"] = {"database", Transport::bearer, Strategy::database, "", false};
    for (const auto& k : keys())
        if (!k.secret) k.set(c, k.def);

    if (!file.empty()) {
        std::ifstream in(file);
        if (!in) throw ConfigError("config", "cannot read configuration file '" + file + "'");
        std::string line;
        int lineno = 0;
        while (std::getline(in, line)) {
            ++lineno;
            std::string t = trim(line);
            if (t.empty() || t[0] == '#') continue;
            auto eq = t.find('=');
            std::string where = " (" + file + ":" + std::to_string(lineno) + ")";
            if (eq == std::string::npos) throw ConfigError(t, "expected 'key = value'" + where);
            apply(c, trim(t.substr(0, eq)), trim(t.substr(eq + 1)), where);
        }
    }

    for (const auto& k : keys()) {
        auto it = env.find(env_name_for(k.name));
        if (it != env.end()) k.set(c, it->second);
        if (k.secret) {
            auto f = env.find(env_name_for(k.name + "_file"));
            if (f != env.end()) k.set(c, read_secret_file(k.name + "_file", f->second));
        }
    }
    for (const auto& provider : split_list(c.oauth.provider_names)) {
        for (const auto& pf : provider_fields()) {
            std::string key = "oauth." + provider + "." + pf.field;
            auto it = env.find(env_name_for(key));
            if (it != env.end()) c.oauth.raw[provider][pf.field] = it->second;
            if (std::string(pf.field) == "client_secret") {
                auto f = env.find(env_name_for(key + "_file"));
                if (f != env.end())
                    c.oauth.raw[provider][pf.field] = read_secret_file(key + "_file", f->second);
            }
        }
    }
    finish(c);
    return c;
}

std::string Config::describe() const {
    std::string out;
    for (const auto& k : keys()) out += k.name + " = " + k.get(*this) + "\n";
    for (const auto& p : oauth.providers) {
        std::string base = "oauth." + p.name + ".";
        std::string scopes;
        for (const auto& s : p.scopes) scopes += (scopes.empty() ? "" : " ") + s;
        out += base + "preset = " + p.preset + "\n" + base + "issuer = " + p.issuer + "\n" + base +
               "client_id = " + p.client_id + "\n" + base +
               "client_secret = " + (p.client_secret.empty() ? "(unset)" : "********") + "\n" +
               base + "redirect_url = " + p.redirect_url + "\n" + base +
               "associate_redirect_url = " + p.associate_redirect_url + "\n" + base +
               "scopes = " + scopes + "\n" + base + "backend = " + p.backend + "\n" + base +
               "associate_by_email = " + (p.associate_by_email ? "true" : "false") + "\n" + base +
               "is_verified_by_default = " + (p.is_verified_by_default ? "true" : "false") + "\n";
    }
    return out;
}

std::string config_template() {
    std::string out =
        "# fcgi-users configuration. Every key is shown with its default, commented out.\n"
        "# Each key can also be set by the environment: FCGI_USERS_<KEY>, upper case, dots and\n"
        "# dashes as underscores (log.level: FCGI_USERS_LOG_LEVEL). A secret may come from a file\n"
        "# instead: <key>_file = /path (or FCGI_USERS_<KEY>_FILE). Unknown keys are errors.\n"
        "# Regenerate with: fcgi-users default-config > conf/fcgi-users.conf\n";
    for (const auto& k : keys()) {
        out += "\n# " + k.doc + "\n";
        out += "# " + k.name + " =" + (k.def.empty() ? "" : " " + k.def) + "\n";
    }
    // One comment line and one key line per block, as for the table's keys
    // (the man page and its test read the file that way).
    std::string intro =
        "Each provider named in oauth.providers has the keys below, <name> being its "
        "name (environment: FCGI_USERS_OAUTH_<NAME>_<FIELD>, e.g. "
        "FCGI_USERS_OAUTH_CORP_ISSUER). ";
    for (const auto& pf : provider_fields()) {
        out += "\n# " + intro + pf.doc + "\n";
        intro.clear();
        // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false
        // positive) on `" " + std::string(...)` here, which -Werror makes fatal.
        out += "# oauth.<name>.";
        out += pf.field;
        out += " =";
        if (*pf.def) {
            out += ' ';
            out += pf.def;
        }
        out += '\n';
    }
    return out;
}

}  // namespace fu
