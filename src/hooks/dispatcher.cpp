// The dispatcher threads' loop: claim a due hook_event row, run its command,
// record done / retry later / failed for good.
#include "hooks/dispatcher.h"

#include <chrono>

#include "hooks/runner.h"
#include "store/stores.h"
#include "util/log.h"

namespace fu::hooks {
namespace {

constexpr auto kPollInterval = std::chrono::seconds(1);
constexpr size_t kErrorTailBytes = 2000;

// A command's output as it may be logged or stored: its token masked.
std::string without_token(std::string text, const HookEventRow& row) {
    if (row.event.token && !row.event.token->empty())
        for (size_t at; (at = text.find(*row.event.token)) != std::string::npos;)
            text.replace(at, row.event.token->size(), "[token]");
    return text;
}

// Logs each line of a command's output with its event and user, never its token.
void log_output(const HookEventRow& row, const char* stream, const std::string& output) {
    std::string text = without_token(output, row);
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        std::string line =
            text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (!line.empty())
            log::info("hook " + row.event.event + " #" + std::to_string(row.id) + " user " +
                      row.event.user_id + " " + stream + ": " + line);
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
}

Command command_for(const Config& config, const HookEventRow& row, const std::string& shell_text) {
    Command c;
    c.shell_text = shell_text;
    c.args.push_back(row.event.user_id);
    // $2 is visible in ps to every local user while the command runs: with
    // hook.token_in_argv = false it is empty, and the token comes only in
    // FCGI_USERS_TOKEN and on standard input.
    if (row.event.token)
        c.args.push_back(config.hooks.token_in_argv ? *row.event.token : std::string());
    if (row.event.token) c.stdin_text = *row.event.token + "\n";
    c.env = {{"PATH", config.hooks.path},
             {"HOME", config.hooks.workdir},
             {"LANG", "C.UTF-8"},
             {"FCGI_USERS_EVENT", row.event.event},
             {"FCGI_USERS_USER_ID", row.event.user_id},
             {"FCGI_USERS_USER_EMAIL", row.event.user_email}};
    if (row.event.token) c.env.emplace_back("FCGI_USERS_TOKEN", *row.event.token);
    c.workdir = config.hooks.workdir;
    c.timeout_seconds = config.hooks.timeout_seconds;
    return c;
}

}  // namespace

void Dispatcher::start() {
    for (long i = 0; i < config_.hooks.concurrency; ++i) threads_.emplace_back([this] { loop(); });
}

void Dispatcher::stop() {
    {
        // Set under the mutex: a thread between its predicate check and its
        // wait would otherwise miss the notify (a lost wake-up).
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_.exchange(true)) return;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

void Dispatcher::wake() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++wakes_;
    }
    cv_.notify_one();
}

// Idle threads delete delivered rows past hook.retention, one of them at a
// time, every retention (at most a minute) apart, a bounded batch each.
void Dispatcher::purge_if_due(Stores& stores) {
    if (config_.hooks.retention_seconds == 0) return;
    auto interval = std::chrono::seconds(std::min<long>(config_.hooks.retention_seconds, 60));
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (now < next_purge_) return;
        next_purge_ = now + interval;
    }
    auto purged = stores.hook_events().purge_delivered(config_.hooks.retention_seconds, 1000);
    if (purged && *purged > 0)
        log::info("hooks: " + std::to_string(*purged) +
                  " delivered events older than hook.retention deleted");
}

void Dispatcher::loop() {
    DbThread db_thread;
    Stores stores(config_);
    // Long enough for the command to time out and be reaped; after a crash the row waits this long.
    const long lease = config_.hooks.timeout_seconds + 5;
    while (!stopping_.load()) {
        unsigned long seen;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            seen = wakes_;
        }
        auto claimed = stores.hook_events().claim_due(1, lease);
        if (claimed && !claimed->empty()) {
            const HookEventRow& row = claimed->front();
            if (row.token_unreadable) {
                // Sealed under another hook.token_key: running it without its token would
                // look delivered and deliver nothing.
                log::error("hook " + row.event.event + " #" + std::to_string(row.id) +
                           ": its token cannot be opened (hook.token_key changed?); marked failed");
                (void)stores.hook_events().mark_attempt_failed(
                    row.id, -1, "token sealed under another hook.token_key", std::nullopt);
                continue;
            }
            auto it = config_.hooks.commands.find(row.event.event);
            if (it == config_.hooks.commands.end() || it->second.empty()) {
                // Configured when recorded, not any more: nothing to run.
                log::warn("hook " + row.event.event + " #" + std::to_string(row.id) +
                          ": no command configured now; marked done");
                (void)stores.hook_events().mark_done(row.id);
                continue;
            }
            Outcome o = run(command_for(config_, row, it->second));
            log_output(row, "stdout", o.stdout_text);
            log_output(row, "stderr", o.stderr_text);
            if (o.exit_status == 0 && !o.timed_out) {
                (void)stores.hook_events().mark_done(row.id);
                continue;
            }
            std::string tail =
                without_token(o.stderr_text.size() > kErrorTailBytes
                                  ? o.stderr_text.substr(o.stderr_text.size() - kErrorTailBytes)
                                  : o.stderr_text,
                              row);
            if (o.timed_out)
                tail += (tail.empty() ? "" : "\n") + std::string("killed after hook.timeout");
            std::optional<long> retry;
            if (row.attempts < config_.hooks.max_attempts)
                retry = config_.hooks.backoff_seconds << std::min<long>(row.attempts - 1, 20);
            log::warn("hook " + row.event.event + " #" + std::to_string(row.id) + " user " +
                      row.event.user_id + " failed (status " + std::to_string(o.exit_status) +
                      (o.timed_out ? ", timed out" : "") + ", attempt " +
                      std::to_string(row.attempts) + ")" +
                      (retry ? ", retry in " + std::to_string(*retry) + " s" : ", giving up"));
            (void)stores.hook_events().mark_attempt_failed(row.id, o.exit_status, tail, retry);
            continue;
        }
        purge_if_due(stores);
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, kPollInterval, [&] { return stopping_.load() || wakes_ != seen; });
    }
}

}  // namespace fu::hooks
