// fcgi-users: the subcommands serve (the default), migrate, check-config,
// default-config and user create / set-password, and the hash helper that
// serve starts (hash-helper). Nothing more lives here.
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/session_purger.h"
#include "config/config.h"
#include "fcgi/server.h"
#include "handlers/context.h"
#include "hooks/dispatcher.h"
#include "http/body.h"
#include "metrics/metrics.h"
#include "oauth/provider.h"
#include "oauth/token_cipher.h"
#include "store/migrator.h"
#include "store/read_batch.h"
#include "store/stores.h"
#include "users/hash_process.h"
#include "util/log.h"
#include "wrap/curl.h"

extern char** environ;

namespace {

constexpr int kUsageError = 2;

const char* kUsage =
    "usage: fcgi-users [--config FILE] [COMMAND]\n"
    "  serve                 serve FastCGI (the default)\n"
    "  migrate               apply the sql/ migrations that are missing\n"
    "  check-config          validate and print the effective configuration (secrets masked)\n"
    "  default-config        print the documented configuration file with every default\n"
    "  user create --email E [--superuser] [--verified]\n"
    "                        create a user; the password is read from stdin\n"
    "  user set-password --email E\n"
    "                        set a user's password, read from stdin\n"
    "  hash-helper NICE [KEEP_MS]\n"
    "                        (started by serve: hashes passwords sent on descriptor 3)\n"
    "The configuration file is --config, else $FCGI_USERS_CONFIG, else none (defaults and "
    "environment).\n";

std::map<std::string, std::string> environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (eq) env.emplace(std::string(static_cast<const char*>(*e), eq), std::string(eq + 1));
    }
    return env;
}

fu::log::Level level_of(const std::string& s) {
    if (s == "debug") return fu::log::Level::debug;
    if (s == "warn") return fu::log::Level::warn;
    if (s == "error") return fu::log::Level::error;
    return fu::log::Level::info;
}

long hash_slots(const fu::Config& c) {
    if (c.hash_slots > 0) return c.hash_slots;
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<long>(n);
}

// The terminal's settings while a password is read without echo, for the
// signal handler that puts them back if the read is interrupted.
termios g_saved_terminal{};

extern "C" void restore_terminal_and_die(int sig) {
    tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal);  // async-signal-safe
    signal(sig, SIG_DFL);
    raise(sig);
}

// Turns echo off for its lifetime, and puts the terminal back on every path:
// return, exception, and the signals that end a process at a prompt.
class NoEcho {
  public:
    NoEcho() {
        if (tcgetattr(STDIN_FILENO, &g_saved_terminal) != 0) return;
        active_ = true;
        struct sigaction sa {};
        sa.sa_handler = restore_terminal_and_die;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
        termios quiet = g_saved_terminal;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    ~NoEcho() {
        if (!active_) return;
        tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal);
        for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
    }
    NoEcho(const NoEcho&) = delete;
    NoEcho& operator=(const NoEcho&) = delete;

  private:
    static constexpr std::array<int, 4> kSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    std::array<struct sigaction, kSignals.size()> old_{};
    bool active_ = false;
};

std::string read_password() {
    std::string pw;
    if (isatty(STDIN_FILENO)) {
        std::cerr << "Password: " << std::flush;
        {
            NoEcho no_echo;
            std::getline(std::cin, pw);
        }
        std::cerr << "\n";
    } else {
        std::getline(std::cin, pw);
    }
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    return pw;
}

int run_serve(const fu::Config& config) {
    int listen_fd = fu::open_listen_socket(config);
    fu::PasswordHasher hasher(config.argon2_memory_kib, config.argon2_iterations,
                              hash_slots(config));
    // Hashing in processes of their own, which other processes preempt
    // (src/users/hash_process.h); /proc/self/exe is this very binary. At
    // hash_nice 0 hashing keeps the process's own priority: no helpers.
    std::optional<fu::HashProcesses> hash_processes;
    if (config.hash_nice > 0) {
        hash_processes.emplace("/proc/self/exe", hasher.slots(), config.hash_nice);
        hasher.hash_in(&*hash_processes);
    }
    // Every secret a token is checked with: its HMAC states are computed here
    // once (a secret missing here still works, at a lookup's cost per token).
    fu::JwtCodec jwt(config.jwt_algorithm, {config.access_token_secret, config.reset_secret,
                                            config.verify_secret, config.oauth.state_secret});
    fu::http::Router router;
    fu::register_routes(router, config);
    long outbound = config.oauth.providers.empty() ? 0 : config.oauth.outbound_slots;
    fu::Metrics metrics(
        static_cast<size_t>(config.workers + fu::hash_threads(hasher.slots()) + outbound), router);
    fu::hooks::Dispatcher dispatcher(config, &metrics);
    fu::oauth::Providers providers(config);
    fu::oauth::TokenCipher token_cipher(config.oauth.token_key);
    std::optional<fu::ReadBatch> read_batch;
    if (config.read_batch > 0)
        read_batch.emplace(static_cast<size_t>(config.read_batch), fu::SessionStore::kMaxBatch);
    fu::Deps deps{config,
                  hasher,
                  jwt,
                  fu::UserManagerDeps{config, hasher, jwt, &fu::hooks::Dispatcher::wake_callback,
                                      &dispatcher},
                  &metrics,
                  &providers,
                  &token_cipher,
                  read_batch ? &*read_batch : nullptr};
    {
        fu::DbThread db_thread;
        fu::Stores probe(config);
        auto flush = probe.flush_log_at_trx_commit();
        if (!flush)
            fu::log::warn("database not reachable at start-up; /healthz answers 503 until it is");
        else if (*flush != 1)
            fu::log::warn("the database runs with innodb_flush_log_at_trx_commit = " +
                          std::to_string(*flush) +
                          ": acknowledged changes can be lost in a crash; set it to 1");
    }
    // Discovery and keys now, beside serving, so the first login does not
    // wait for them; a provider down at start is retried on first use.
    std::thread warm_up([&providers, &config] { providers.warm_up(config.oauth.timeout_ms); });
    dispatcher.start();
    fu::SessionPurger purger(config);
    purger.start();
    int rc = fu::serve(config, router, deps, listen_fd);
    warm_up.join();
    purger.stop();
    dispatcher.stop();
    return rc;
}

int run_migrate(const fu::Config& config) {
    fu::DbThread db_thread;
    auto outcome = fu::migrate(config);
    for (const auto& name : outcome.applied) std::cout << "applied " << name << "\n";
    std::cout << outcome.applied.size() << " applied, " << outcome.already.size()
              << " already applied\n";
    return 0;
}

int run_user(const fu::Config& config, const std::vector<std::string>& args) {
    if (args.empty() || (args[0] != "create" && args[0] != "set-password")) {
        std::cerr << kUsage;
        return kUsageError;
    }
    std::string email;
    bool superuser = false, verified = false;
    for (size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--email" && i + 1 < args.size())
            email = fu::http::email_input(args[++i]);  // as the HTTP routes read it
        else if (args[i] == "--superuser" && args[0] == "create")
            superuser = true;
        else if (args[i] == "--verified" && args[0] == "create")
            verified = true;
        else {
            std::cerr << "fcgi-users: user " << args[0] << ": unexpected argument '" << args[i]
                      << "'\n";
            return kUsageError;
        }
    }
    if (email.empty()) {
        std::cerr << "fcgi-users: user " << args[0] << ": --email is required\n";
        return kUsageError;
    }
    fu::DbThread db_thread;
    fu::PasswordHasher hasher(config.argon2_memory_kib, config.argon2_iterations, 1);
    fu::JwtCodec jwt(config.jwt_algorithm);
    fu::UserManagerDeps deps{config, hasher, jwt};
    fu::Stores stores(config);
    fu::UserManager manager(deps, stores);
    std::string password = read_password();
    if (args[0] == "create") {
        auto user = manager.create(email, password, superuser, verified);
        sodium_memzero(password.data(), password.size());
        if (user) {
            std::cout << user->id << "\n";
            return 0;
        }
        switch (user.error().code) {
            case fu::CreateUserError::already_exists:
                std::cerr << "fcgi-users: a user with this e-mail exists\n";
                break;
            case fu::CreateUserError::invalid_email:
                std::cerr << "fcgi-users: --email: " << user.error().detail << "\n";
                break;
            case fu::CreateUserError::invalid_password:
                std::cerr << "fcgi-users: " << user.error().detail << "\n";
                break;
            default:
                std::cerr << "fcgi-users: the database failed (see the log above)\n";
                break;
        }
        return 1;
    }
    auto found = stores.users().get_by_email(email);
    if (!found || !*found) {
        std::cerr << "fcgi-users: " << (found ? "no user with this e-mail" : "the database failed")
                  << "\n";
        return 1;
    }
    auto done = manager.set_password(**found, password);
    sodium_memzero(password.data(), password.size());
    if (!done) {
        std::cerr << (done.error().code == fu::SetPasswordOutcome::stale
                          ? "fcgi-users: the password changed meanwhile; nothing was written, run "
                            "it again\n"
                          : "fcgi-users: the database failed\n");
        return 1;
    }
    std::cout << "password set for " << (*found)->id << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string config_file;
    if (const char* f = std::getenv("FCGI_USERS_CONFIG")) config_file = f;
    if (args.size() >= 2 && args[0] == "--config") {
        config_file = args[1];
        args.erase(args.begin(), args.begin() + 2);
    }
    std::string command = args.empty() ? "serve" : args[0];
    if (!args.empty()) args.erase(args.begin());
    if (command == "-h" || command == "--help" || command == "help") {
        std::cout << kUsage;
        return 0;
    }
    if (command == "default-config") {
        std::cout << fu::config_template();
        return 0;
    }
    if (sodium_init() < 0) {
        std::cerr << "fcgi-users: libsodium could not be initialised\n";
        return 1;
    }
    if (command == "hash-helper") {
        // NICE, and KEEP_MS (optional: HashProcesses::kKeepMs).
        auto number = [&](size_t i, long fallback, long low, long high) {
            if (i >= args.size()) return fallback;
            char* end = nullptr;
            long v = std::strtol(args[i].c_str(), &end, 10);
            bool whole = end && end != args[i].c_str() && *end == '\0';
            return whole && v >= low && v <= high ? v : -1;
        };
        long nice = number(0, -1, 0, 19);
        long keep_ms = number(1, fu::HashProcesses::kKeepMs, 0, 86'400'000);
        if (args.empty() || args.size() > 2 || nice < 0 || keep_ms < 0) {
            std::cerr << kUsage;
            return kUsageError;
        }
        return fu::run_hash_helper(nice, keep_ms);
    }
    fu::Config config;
    try {
        auto env = environment();
        env.erase("FCGI_USERS_CONFIG");
        config = fu::Config::load(config_file, env);
    } catch (const fu::ConfigError& e) {
        std::cerr << "fcgi-users: configuration: " << e.what() << "\n";
        return kUsageError;
    }
    fu::log::set_level(level_of(config.log_level));
    fu::DbLibrary db_library;
    fu::curl::Library curl_library;
    try {
        if (command == "serve") return run_serve(config);
        if (command == "migrate") return run_migrate(config);
        if (command == "check-config") {
            std::cout << config.describe();
            return 0;
        }
        if (command == "user") return run_user(config, args);
    } catch (const fu::ConfigError& e) {
        std::cerr << "fcgi-users: configuration: " << e.what() << "\n";
        return kUsageError;
    } catch (const std::exception& e) {
        std::cerr << "fcgi-users: " << command << ": " << e.what() << "\n";
        return 1;
    }
    std::cerr << kUsage;
    return kUsageError;
}
