// The dispatcher's threads: the claimer (claims due hook_event rows for idle
// slots, writes outcomes, keeps those the database refused until it takes
// them) and the slots (run one command each, decide done / retry later /
// failed for good).
#include "hooks/dispatcher.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "hooks/runner.h"
#include "metrics/metrics.h"
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

// The end of a command's error output as the row keeps it: at most
// kErrorTailBytes, beginning at a character (the store makes the rest
// well-formed UTF-8).
std::string error_tail(const std::string& text) {
    if (text.size() <= kErrorTailBytes) return text;
    size_t from = text.size() - kErrorTailBytes;
    for (int k = 0; k < 3 && from < text.size() && (text[from] & 0xC0) == 0x80; ++k) ++from;
    return text.substr(from);
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

std::string host_and_pid() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

Dispatcher::Dispatcher(const Config& config, Metrics* metrics)
    : config_(config), metrics_(metrics), owner_(host_and_pid()) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("hooks: pipe2 failed");
    cancel_read_.reset(p[0]);
    cancel_write_.reset(p[1]);
}

void Dispatcher::start() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        publish_slots();
    }
    if (config_.hooks.concurrency == 0) return;
    for (long i = 0; i < config_.hooks.concurrency; ++i)
        slots_.emplace_back([this] { slot_loop(); });
    claimer_ = std::thread([this] { claim_loop(); });
}

void Dispatcher::stop() {
    {
        // Set under the mutex: a thread between its predicate check and its
        // wait would otherwise miss the notify (a lost wake-up).
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_.exchange(true)) return;
    }
    // Never read: it stays readable, for every command running or about to.
    (void)!::write(cancel_write_.get(), "x", 1);
    slot_cv_.notify_all();
    claimer_cv_.notify_all();
    for (auto& t : slots_) t.join();
    slots_.clear();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        slots_joined_ = true;
    }
    claimer_cv_.notify_all();
    if (claimer_.joinable()) claimer_.join();
}

void Dispatcher::wake() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++wakes_;
    }
    claimer_cv_.notify_one();
}

void Dispatcher::publish_slots() {
    if (metrics_) metrics_->set_hook_slots(busy_, config_.hooks.concurrency);
}

// The claimer deletes delivered rows past hook.retention, every retention
// (at most a minute) apart, a bounded batch each.
void Dispatcher::purge_if_due(Stores& stores) {
    if (config_.hooks.retention_seconds == 0) return;
    auto interval = std::chrono::seconds(std::min<long>(config_.hooks.retention_seconds, 60));
    auto now = std::chrono::steady_clock::now();
    if (now < next_purge_) return;
    next_purge_ = now + interval;
    auto purged = stores.hook_events().purge_delivered(config_.hooks.retention_seconds, 1000);
    if (purged && *purged > 0)
        log::info("hooks: " + std::to_string(*purged) +
                  " delivered events older than hook.retention deleted");
}

// Whether the database took the outcome. One it refuses for good (neither
// gone nor a lock conflict) is logged and dropped: the row's lease then lets it
// be delivered again, which is at-least-once still.
bool Dispatcher::write(Stores& stores, const Report& r) {
    HookEventStore& store = stores.hook_events();
    Result<Unit, db::DbError> w = r.kind == Report::Kind::done ? store.mark_done(r.row.id)
                                  : r.kind == Report::Kind::release
                                      ? store.release(r.row, r.retry_in.value_or(0))
                                      : store.mark_attempt_failed(r.row, r.exit_status, r.timed_out,
                                                                  r.error_tail, r.retry_in);
    if (w) return true;
    if (w.error().code != db::DbError::other ||
        db::is_lock_conflict(w.error().code, w.error().detail))
        return false;
    // Refused for good (not gone, no lock conflict). A failed attempt is then
    // recorded without its output, so that its attempts still count toward
    // hook.max_attempts and a hook that keeps failing ends as failed, visibly,
    // instead of being claimed again after every lease while the user's later
    // events wait behind it.
    if (r.kind == Report::Kind::retry_or_fail) {
        auto plain = store.mark_attempt_failed(
            r.row, r.exit_status, r.timed_out,
            "(its output could not be stored: MariaDB error " + w.error().detail + ")", r.retry_in);
        if (plain) return true;
        if (plain.error().code != db::DbError::other ||
            db::is_lock_conflict(plain.error().code, plain.error().detail))
            return false;  // gone meanwhile: kept, and written once it answers
    }
    log::error("hook " + r.row.event.event + " #" + std::to_string(r.row.id) +
               ": its outcome could not be recorded (MariaDB error " + w.error().detail +
               "); it may be delivered again");
    return true;
}

void Dispatcher::claim_loop() {
    DbThread db_thread;
    Stores stores(config_);
    // Long enough for the command to time out and be reaped, and its outcome
    // written; after a crash the row waits this long for another claim.
    const long lease = config_.hooks.timeout_seconds + config_.hooks.lease_grace_seconds;
    std::deque<Report> unwritten;  // in the order they came
    bool last_round = false;
    while (true) {
        unsigned long seen;
        long idle = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            seen = wakes_;
            for (auto& r : reports_) unwritten.push_back(std::move(r));
            reports_.clear();
            if (stopping_.load()) {
                // Claimed, never started: handed back as due now.
                for (auto& row : jobs_)
                    unwritten.push_back(Report::of(Report::Kind::release, std::move(row)));
                jobs_.clear();
                last_round = slots_joined_;
            }
            idle = config_.hooks.concurrency - busy_ - static_cast<long>(jobs_.size());
        }
        while (!unwritten.empty() && write(stores, unwritten.front())) unwritten.pop_front();
        if (last_round) {
            if (!unwritten.empty())
                log::warn("hooks: " + std::to_string(unwritten.size()) +
                          " outcomes not recorded (database unavailable at stop); those events "
                          "are delivered again after their lease");
            return;
        }
        // Nothing new while an outcome waits for the database: it would only
        // be claimed again itself once its lease passed.
        if (unwritten.empty() && !stopping_.load() && idle > 0) {
            auto claimed = stores.hook_events().claim_due(idle, lease, owner_);
            if (claimed && !claimed->empty()) {
                long taken_over = 0;
                for (const auto& row : *claimed) taken_over += row.taken_over ? 1 : 0;
                if (taken_over > 0) {
                    log::warn("hooks: " + std::to_string(taken_over) +
                              " events taken over after their lease (their host never "
                              "reported; they may run twice)");
                    if (metrics_) metrics_->count_hook_takeovers(taken_over);
                }
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    for (auto& row : *claimed) jobs_.push_back(std::move(row));
                }
                slot_cv_.notify_all();
            }
            purge_if_due(stores);
        }
        // A slot's report is also a free slot: more due rows are claimed then.
        std::unique_lock<std::mutex> lock(mutex_);
        claimer_cv_.wait_for(lock, kPollInterval, [&] {
            return (stopping_.load() && (slots_joined_ || !jobs_.empty())) || wakes_ != seen ||
                   !reports_.empty();
        });
    }
}

void Dispatcher::slot_loop() {
    while (true) {
        HookEventRow row;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            slot_cv_.wait(lock, [&] { return stopping_.load() || !jobs_.empty(); });
            if (stopping_.load()) return;
            row = std::move(jobs_.front());
            jobs_.pop_front();
            ++busy_;
            publish_slots();
        }
        Report r = deliver(row);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            --busy_;
            publish_slots();
            reports_.push_back(std::move(r));
        }
        claimer_cv_.notify_one();
    }
}

Dispatcher::Report Dispatcher::deliver(const HookEventRow& row) {
    const std::string name = "hook " + row.event.event + " #" + std::to_string(row.id);
    if (row.token_unreadable) {
        // Sealed under another hook.token_key: running it without its token would
        // look delivered and deliver nothing.
        log::error(name + ": its token cannot be opened (hook.token_key changed?); marked failed");
        return Report{Report::Kind::retry_or_fail,
                      row,
                      -1,
                      false,
                      "token sealed under another hook.token_key",
                      std::nullopt};
    }
    auto it = config_.hooks.commands.find(row.event.event);
    if (it == config_.hooks.commands.end() || it->second.empty()) {
        // Configured when recorded, not any more: nothing to run.
        log::warn(name + ": no command configured now; marked done");
        return Report::of(Report::Kind::done, row);
    }
    Command cmd = command_for(config_, row, it->second);
    cmd.cancel_fd = cancel_read_.get();
    Outcome o = run(cmd);
    if (o.not_started) {
        // This process's shortage (descriptors, processes), not the
        // command's failure: no attempt is spent, and the row waits the
        // first back-off before it is tried again.
        Report r = Report::of(Report::Kind::release, row);
        r.retry_in = config_.hooks.backoff_seconds;
        log::warn_limited("hook not started", name + ": the command could not be started (" +
                                                  o.start_error +
                                                  "); not counted as an attempt, again in " +
                                                  std::to_string(*r.retry_in) + " s");
        if (metrics_) metrics_->count(HookRun::not_started);
        return r;
    }
    log_output(row, "stdout", o.stdout_text);
    log_output(row, "stderr", o.stderr_text);
    if (o.cancelled) {
        log::info(name + ": stopped with fcgi-users; delivered again from the next start");
        if (metrics_) metrics_->count(HookRun::cancelled);
        return Report::of(Report::Kind::release, row);
    }
    if (o.left_running)
        log::warn(name + ": exited (status " + std::to_string(o.exit_status) +
                  ") but left a process holding its output until hook.timeout; its group was "
                  "killed");
    if (o.exit_status == 0 && !o.timed_out) {
        if (metrics_) metrics_->count(HookRun::done);
        return Report::of(Report::Kind::done, row);
    }
    if (metrics_) metrics_->count(o.timed_out ? HookRun::timed_out : HookRun::failed);
    std::string tail = error_tail(without_token(o.stderr_text, row));
    if (o.timed_out) tail += (tail.empty() ? "" : "\n") + std::string("killed after hook.timeout");
    std::optional<long> retry;
    if (row.attempts < config_.hooks.max_attempts) {
        retry = config_.hooks.backoff_seconds << std::min<long>(row.attempts - 1, 20);
        // A command that hangs each time would hold a slot for hook.timeout on
        // every attempt: from its second time-out on it waits hook.timeout * 2^timeouts.
        const long timeouts = row.timeouts + (o.timed_out ? 1 : 0);
        if (o.timed_out && timeouts >= 2)
            retry = std::max(*retry, config_.hooks.timeout_seconds << std::min<long>(timeouts, 20));
    } else if (metrics_) {
        metrics_->count_hook_given_up();
    }
    log::warn(name + " user " + row.event.user_id + " failed (status " +
              std::to_string(o.exit_status) + (o.timed_out ? ", timed out" : "") + ", attempt " +
              std::to_string(row.attempts) + ")" +
              (retry ? ", retry in " + std::to_string(*retry) + " s" : ", giving up"));
    return Report{Report::Kind::retry_or_fail, row, o.exit_status, o.timed_out, tail, retry};
}

}  // namespace fu::hooks
