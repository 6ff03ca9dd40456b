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
    return Key{name, def, doc, false,
               [f](Config& c, const std::string& v) { f(c) = v; },
               [f](const Config& c) { return f(const_cast<Config&>(c)); }};
}

template <typename F>
Key path_key(std::string name, std::string def, std::string doc, F f) {
    // An URL path: empty, or starting with '/' and not ending with one.
    return Key{name, def, doc, false,
               [f, name](Config& c, const std::string& v) {
                   if (!v.empty() && (v[0] != '/' || (v.size() > 1 && v.back() == '/')))
                       throw ConfigError(name, "must start with '/' and not end with '/' (got '" + v + "')");
                   f(c) = v == "/" ? "" : v;
               },
               [f](const Config& c) { return f(const_cast<Config&>(c)); }};
}

template <typename F>
Key int_key(std::string name, long def, long min, long max, std::string doc, F f) {
    return Key{name, std::to_string(def), doc, false,
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
    return Key{name, def ? "true" : "false", doc, false,
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
Key enum_key(std::string name, std::string def, std::vector<std::string> allowed, std::string doc, F f) {
    return Key{name, def, doc, false,
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
    return Key{name, "", doc, true,
               [f, name, min_size](Config& c, const std::string& v) {
                   if (min_size > 0 && v.size() < min_size)
                       throw ConfigError(name, "secret is shorter than " + std::to_string(min_size) +
                                                   " bytes");
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
    k.push_back(string_key("listen", "",
                           "FastCGI socket: a unix socket path, or host:port. Empty: the socket systemd "
                           "passes (LISTEN_FDS), else the one on descriptor 0 (spawn-fcgi, mod_fcgid).",
                           [](Config& c) -> auto& { return c.listen; }));
    k.push_back(int_key("workers", 8, 1, 1024,
                        "Worker threads, each serving one FastCGI connection at a time.",
                        [](Config& c) -> auto& { return c.workers; }));
    k.push_back(int_key("hash_slots", 0, 0, 1024,
                        "Threads that hash passwords (logins, registrations, password changes). 0: one per core.",
                        [](Config& c) -> auto& { return c.hash_slots; }));
    k.push_back(int_key("hash_queue_limit", 1024, 1, 1000000,
                        "Requests waiting for a hash slot (logins, registrations, password changes) before "
                        "more are refused with 503.",
                        [](Config& c) -> auto& { return c.hash_queue_limit; }));
    k.push_back(int_key("listen_backlog", 256, 1, 65535, "Backlog of the listening socket.",
                        [](Config& c) -> auto& { return c.listen_backlog; }));
    k.push_back(int_key("max_body_bytes", 65536, 1024, 64L * 1024 * 1024,
                        "Largest request body accepted; a larger one gets 413.",
                        [](Config& c) -> auto& { return c.max_body_bytes; }));
    k.push_back(int_key("request_body_timeout", 10, 1, 3600,
                        "Seconds a worker waits for a whole request body; after that, 408.",
                        [](Config& c) -> auto& { return c.request_body_timeout; }));
    k.push_back(path_key("mount_prefix", "",
                         "URL prefix under which nginx mounts the API (e.g. /api); stripped before routing.",
                         [](Config& c) -> auto& { return c.mount_prefix; }));
    k.push_back(enum_key("log.level", "info", {"debug", "info", "warn", "error"},
                         "Least severe level written to stderr.",
                         [](Config& c) -> auto& { return c.log_level; }));
    k.push_back(bool_key("log.access", true, "One line per request: method, path, status, time.",
                         [](Config& c) -> auto& { return c.access_log; }));

    k.push_back(string_key("db.socket", "", "MariaDB unix socket; when set, db.host and db.port are unused.",
                           [](Config& c) -> auto& { return c.db_socket; }));
    k.push_back(string_key("db.host", "127.0.0.1", "MariaDB host.",
                           [](Config& c) -> auto& { return c.db_host; }));
    k.push_back(int_key("db.port", 3306, 1, 65535, "MariaDB TCP port.",
                        [](Config& c) -> auto& { return c.db_port; }));
    k.push_back(string_key("db.user", "fcgi_users", "MariaDB user.",
                           [](Config& c) -> auto& { return c.db_user; }));
    k.push_back(secret_key("db.password", 0, "MariaDB password (or db.password_file).",
                           [](Config& c) -> auto& { return c.db_password; }));
    k.push_back(string_key("db.name", "fcgi_users", "MariaDB database.",
                           [](Config& c) -> auto& { return c.db_name; }));
    k.push_back(string_key("migrations_dir", "/usr/share/fcgi-users/sql",
                           "Folder of the numbered .sql migrations that `fcgi-users migrate` applies.",
                           [](Config& c) -> auto& { return c.migrations_dir; }));

    k.push_back(int_key("password.min_length", 8, 1, 1024, "Shortest password accepted.",
                        [](Config& c) -> auto& { return c.password_min_length; }));
    k.push_back(int_key("password.max_length", 128, 8, 4096,
                        "Longest password accepted (a bound on the work one request can cause).",
                        [](Config& c) -> auto& { return c.password_max_length; }));
    k.push_back(int_key("password.argon2_memory_kib", 19456, 8192, 4 * 1024 * 1024,
                        "argon2id memory per hash in KiB (OWASP minimum: 19456).",
                        [](Config& c) -> auto& { return c.argon2_memory_kib; }));
    k.push_back(int_key("password.argon2_iterations", 2, 1, 100,
                        "argon2id iterations (OWASP minimum with 19 MiB: 2).",
                        [](Config& c) -> auto& { return c.argon2_iterations; }));

    k.push_back(enum_key("jwt.algorithm", "HS256", {"HS256", "HS512"},
                         "The only JWT algorithm accepted and issued.",
                         [](Config& c) -> auto& { return c.jwt_algorithm; }));
    k.push_back(secret_key("access_token.secret", kMinSecretBytes,
                           "Key of access JWTs, at least 32 bytes (or access_token.secret_file). Required.",
                           [](Config& c) -> auto& { return c.access_token_secret; }));
    k.push_back(int_key("access_token.lifetime", 3600, 1, 365L * 86400, "Access JWT lifetime in seconds.",
                        [](Config& c) -> auto& { return c.access_token_lifetime; }));
    k.push_back(int_key("database_token.lifetime", 3600, 1, 365L * 86400,
                        "Lifetime of database-strategy tokens in seconds.",
                        [](Config& c) -> auto& { return c.database_token_lifetime; }));
    k.push_back(secret_key("reset.secret", kMinSecretBytes,
                           "Key of reset-password tokens, at least 32 bytes (or reset.secret_file). Required.",
                           [](Config& c) -> auto& { return c.reset_secret; }));
    k.push_back(int_key("reset.lifetime", 3600, 1, 30L * 86400, "Reset-password token lifetime in seconds.",
                        [](Config& c) -> auto& { return c.reset_lifetime; }));
    k.push_back(secret_key("verify.secret", kMinSecretBytes,
                           "Key of verification tokens, at least 32 bytes (or verify.secret_file). Required.",
                           [](Config& c) -> auto& { return c.verify_secret; }));
    k.push_back(int_key("verify.lifetime", 3600, 1, 30L * 86400, "Verification token lifetime in seconds.",
                        [](Config& c) -> auto& { return c.verify_lifetime; }));

    k.push_back(string_key("auth.backends", "jwt,cookie,database",
                           "Enabled backends, in the order credentials are tried: jwt (bearer header), "
                           "cookie (cookie), database (bearer header, database strategy).",
                           [](Config& c) -> auto& { return c.backend_names; }));
    struct Default {
        const char* name;
        const char* prefix;
        const char* strategy;
    };
    for (const Default d : {Default{"jwt", "/auth/jwt", "jwt"}, Default{"cookie", "/auth/cookie", "jwt"},
                            Default{"database", "/auth/database", "database"}}) {
        std::string n = d.name;
        std::string base = "backend." + n;
        k.push_back(path_key(base + ".prefix", d.prefix, "Routes of the " + n + " backend: {prefix}/login and {prefix}/logout.",
                             [n](Config& c) -> auto& { return c.backend_settings[n].prefix; }));
        k.push_back(Key{base + ".strategy", d.strategy,
                        "What the " + n + " backend's token is: jwt (stateless) or database (revocable).",
                        false,
                        [n, base](Config& c, const std::string& v) {
                            if (v == "jwt") {
                                c.backend_settings[n].strategy = Strategy::jwt;
                            } else if (v == "database") {
                                c.backend_settings[n].strategy = Strategy::database;
                            } else {
                                throw ConfigError(base + ".strategy", "must be jwt or database (got '" + v + "')");
                            }
                        },
                        [n](const Config& c) {
                            return c.backend_settings.at(n).strategy == Strategy::jwt ? "jwt" : "database";
                        }});
        k.push_back(bool_key(base + ".requires_verification", false,
                             "Log-in through the " + n + " backend only for verified users.",
                             [n](Config& c) -> auto& { return c.backend_settings[n].requires_verification; }));
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

    k.push_back(string_key("cookie.name", "fastapiusersauth", "Name of the auth cookie.",
                           [](Config& c) -> auto& { return c.cookie.name; }));
    k.push_back(int_key("cookie.max_age", 0, 0, 365L * 86400, "Max-Age of the cookie in seconds; 0: none (a session cookie).",
                        [](Config& c) -> auto& { return c.cookie.max_age; }));
    k.push_back(string_key("cookie.path", "/", "Path of the cookie.",
                           [](Config& c) -> auto& { return c.cookie.path; }));
    k.push_back(string_key("cookie.domain", "", "Domain of the cookie; empty: none.",
                           [](Config& c) -> auto& { return c.cookie.domain; }));
    k.push_back(bool_key("cookie.secure", true, "Send the cookie over HTTPS only.",
                         [](Config& c) -> auto& { return c.cookie.secure; }));
    k.push_back(bool_key("cookie.httponly", true, "Hide the cookie from JavaScript.",
                         [](Config& c) -> auto& { return c.cookie.httponly; }));
    k.push_back(enum_key("cookie.samesite", "lax", {"lax", "strict", "none"}, "SameSite of the cookie.",
                         [](Config& c) -> auto& { return c.cookie.samesite; }));

    for (const auto& ev : hook_event_names()) {
        k.push_back(string_key("hook." + ev, "",
                               "Shell command run after " + ev + " as /bin/sh -c CMD fcgi-users USER_ID [TOKEN]; empty: none.",
                               [ev](Config& c) -> auto& { return c.hooks.commands[ev]; }));
    }
    k.push_back(int_key("hook.concurrency", 2, 0, 64,
                        "Hook commands run at once; 0: this process records events but delivers none "
                        "(another fcgi-users on the same database does).",
                        [](Config& c) -> auto& { return c.hooks.concurrency; }));
    k.push_back(int_key("hook.timeout", 30, 1, 3600, "Seconds before a hook's process group is killed.",
                        [](Config& c) -> auto& { return c.hooks.timeout_seconds; }));
    k.push_back(int_key("hook.max_attempts", 5, 1, 100, "Attempts before a hook is left as failed.",
                        [](Config& c) -> auto& { return c.hooks.max_attempts; }));
    k.push_back(int_key("hook.backoff", 5, 1, 86400, "Seconds before the first retry; doubled each time.",
                        [](Config& c) -> auto& { return c.hooks.backoff_seconds; }));
    k.push_back(secret_key("hook.token_key", 0,
                           "Key (32 bytes or more) sealing the tokens of pending hook events in the database "
                           "(or hook.token_key_file); empty: derived from access_token.secret.",
                           [](Config& c) -> auto& { return c.hooks.token_key; }));
    k.push_back(int_key("hook.retention", 7L * 86400, 0, 3650L * 86400,
                        "Seconds a delivered hook event stays in table hook_event before it is deleted; 0: kept.",
                        [](Config& c) -> auto& { return c.hooks.retention_seconds; }));
    k.push_back(bool_key("hook.token_in_argv", true,
                         "Pass the token as $2, which any local user can read in ps while the hook runs; "
                         "false: $2 is empty and the token is only in FCGI_USERS_TOKEN and on stdin.",
                         [](Config& c) -> auto& { return c.hooks.token_in_argv; }));
    k.push_back(string_key("hook.workdir", "/", "Working directory of hook commands.",
                           [](Config& c) -> auto& { return c.hooks.workdir; }));
    k.push_back(string_key("hook.path", "/usr/local/bin:/usr/bin:/bin", "PATH of hook commands (their only other variables are HOME, LANG and FCGI_USERS_*).",
                           [](Config& c) -> auto& { return c.hooks.path; }));
    k.push_back(path_key("check.path", "/auth/check", "Route answering nginx auth_request.",
                         [](Config& c) -> auto& { return c.check_path; }));
    return k;
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
    throw ConfigError(name, "unknown key" + where);
}

void check_listen(const std::string& listen) {
    if (listen.empty() || listen.find('/') == std::string::npos) {
        if (!listen.empty()) {
            auto colon = listen.rfind(':');
            if (colon == std::string::npos || colon + 1 == listen.size())
                throw ConfigError("listen", "must be a socket path or host:port (got '" + listen + "')");
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
    struct stat st{};
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw ConfigError("listen", "folder of socket path '" + listen + "' does not exist");
    if (access(dir.c_str(), W_OK | X_OK) != 0)
        throw ConfigError("listen", "folder of socket path '" + listen + "' is not writable");
    if (listen.size() >= 108) throw ConfigError("listen", "socket path longer than 107 bytes");
}

void finish(Config& c) {
    c.backends.clear();
    std::stringstream ss(c.backend_names);
    std::string name;
    while (std::getline(ss, name, ',')) {
        name = trim(name);
        if (name.empty()) continue;
        auto it = c.backend_settings.find(name);
        if (it == c.backend_settings.end())
            throw ConfigError("auth.backends", "unknown backend '" + name + "' (known: jwt, cookie, database)");
        for (const auto& b : c.backends)
            if (b.name == name) throw ConfigError("auth.backends", "backend '" + name + "' named twice");
        for (const auto& b : c.backends)
            if (b.prefix == it->second.prefix)
                throw ConfigError("backend." + name + ".prefix", "same prefix as backend " + b.name);
        c.backends.push_back(it->second);
    }
    if (c.backends.empty()) throw ConfigError("auth.backends", "no backend enabled");
    for (const auto& b : c.backends)
        if (b.refresh_tokens && (b.transport != Transport::bearer || b.strategy != Strategy::jwt))
            throw ConfigError("backend." + b.name + ".refresh_tokens",
                              "needs the bearer transport and the jwt strategy");
    if (!c.hooks.token_key.empty() && c.hooks.token_key.size() < kMinSecretBytes)
        throw ConfigError("hook.token_key", "secret is shorter than " + std::to_string(kMinSecretBytes) + " bytes");
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
}

}  // namespace

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
    finish(c);
    return c;
}

std::string Config::describe() const {
    std::string out;
    for (const auto& k : keys()) out += k.name + " = " + k.get(*this) + "\n";
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
    return out;
}

}  // namespace fu
