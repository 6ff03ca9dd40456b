// Summing the per-thread shards into Prometheus text.
#include "metrics/metrics.h"

#include <cerrno>
#include <cstdio>

namespace fu {
namespace {

size_t status_index(int status) {
    for (size_t i = 0; i < Metrics::kStatuses.size(); ++i)
        if (Metrics::kStatuses[i] == status) return i;
    return Metrics::kStatuses.size();  // "other"
}

struct AcceptErrorName {
    int err;
    const char* name;
};
constexpr std::array<AcceptErrorName, 5> kAcceptErrors = {{{EMFILE, "EMFILE"},
                                                           {ENFILE, "ENFILE"},
                                                           {ENOMEM, "ENOMEM"},
                                                           {ENOBUFS, "ENOBUFS"},
                                                           {ECONNABORTED, "ECONNABORTED"}}};

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// A metric of one sample, with its HELP and TYPE lines.
std::string single(const char* name, const char* type, const char* help, long long value) {
    std::string n = name;
    return "# HELP " + n + " " + help + "\n# TYPE " + n + " " + type + "\n" + n + " " +
           std::to_string(value) + "\n";
}

}  // namespace

Metrics::Metrics(size_t shards, const http::Router& router) : router_(router) {
    for (size_t i = 0; i < shards; ++i)
        shards_.push_back(std::make_unique<Shard>(router.route_count()));
}

void Metrics::count_accept_error(int err) {
    size_t i = 0;
    while (i < kAcceptErrors.size() && kAcceptErrors[i].err != err) ++i;
    accept_errors_[i].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::record(size_t shard, size_t route, int status, double seconds) {
    Shard& s = *shards_[shard];
    s.counts[route * (kStatuses.size() + 1) + status_index(status)].fetch_add(
        1, std::memory_order_relaxed);
    for (size_t b = 0; b < kBuckets.size(); ++b)
        if (seconds <= kBuckets[b]) s.buckets[b].fetch_add(1, std::memory_order_relaxed);
    s.micros_sum.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
    s.count.fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::exposition() const {
    std::string out =
        "# HELP fcgi_users_requests_total Requests answered, by route pattern and status.\n"
        "# TYPE fcgi_users_requests_total counter\n";
    const size_t statuses = kStatuses.size() + 1;
    for (size_t route = 0; route <= router_.route_count(); ++route) {
        std::string name = router_.route_name(route);
        std::string method = route < router_.route_count() ? name.substr(0, name.find(' ')) : "";
        std::string pattern =
            route < router_.route_count() ? name.substr(name.find(' ') + 1) : name;
        for (size_t st = 0; st < statuses; ++st) {
            uint64_t n = 0;
            for (const auto& s : shards_)
                n += s->counts[route * statuses + st].load(std::memory_order_relaxed);
            if (n == 0) continue;
            std::string status = st < kStatuses.size() ? std::to_string(kStatuses[st]) : "other";
            out += "fcgi_users_requests_total{method=\"" + method + "\",route=\"" + pattern +
                   "\",status=\"" + status + "\"} " + std::to_string(n) + "\n";
        }
    }
    out +=
        "# HELP fcgi_users_request_duration_seconds Time from accept to answer.\n"
        "# TYPE fcgi_users_request_duration_seconds histogram\n";
    uint64_t count = 0, micros = 0;
    for (const auto& s : shards_) {
        count += s->count.load(std::memory_order_relaxed);
        micros += s->micros_sum.load(std::memory_order_relaxed);
    }
    for (size_t b = 0; b < kBuckets.size(); ++b) {
        uint64_t n = 0;
        for (const auto& s : shards_) n += s->buckets[b].load(std::memory_order_relaxed);
        out += "fcgi_users_request_duration_seconds_bucket{le=\"" + number(kBuckets[b]) + "\"} " +
               std::to_string(n) + "\n";
    }
    out +=
        "fcgi_users_request_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
    out += "fcgi_users_request_duration_seconds_sum " + number(static_cast<double>(micros) / 1e6) +
           "\n";
    out += "fcgi_users_request_duration_seconds_count " + std::to_string(count) + "\n";
    out += single("fcgi_users_hash_queue_length", "gauge", "Requests waiting for a hash thread.",
                  hash_queue_.load(std::memory_order_relaxed));
    out += single("fcgi_users_fastcgi_connections_accepted_total", "counter",
                  "FastCGI connections accepted (a web server that keeps its connections opens "
                  "few).",
                  static_cast<long long>(connections_accepted_.load(std::memory_order_relaxed)));
    out += single("fcgi_users_fastcgi_connections_waiting", "gauge",
                  "FastCGI connections open and waiting for their next request (kept by the web "
                  "server, or just accepted).",
                  connections_waiting_.load(std::memory_order_relaxed));
    out +=
        "# HELP fcgi_users_accept_errors_total Failed accepts, retried after a pause.\n"
        "# TYPE fcgi_users_accept_errors_total counter\n";
    for (size_t i = 0; i < accept_errors_.size(); ++i)
        out += std::string("fcgi_users_accept_errors_total{error=\"") +
               (i < kAcceptErrors.size() ? kAcceptErrors[i].name : "other") + "\"} " +
               std::to_string(accept_errors_[i].load(std::memory_order_relaxed)) + "\n";
    struct Counter {
        SessionEvent event;
        const char* name;
        const char* help;
    };
    for (const Counter& c :
         {Counter{SessionEvent::token_revoked, "fcgi_users_tokens_revoked_total",
                  "Access token ids and sessions revoked (logout, refresh token reuse)."},
          Counter{SessionEvent::refresh_reuse, "fcgi_users_refresh_reuse_detected_total",
                  "Spent refresh tokens presented again (their family revoked)."},
          Counter{SessionEvent::login_throttled, "fcgi_users_logins_throttled_total",
                  "Logins and reset/verify attempts refused with 429 (too many failures)."},
          Counter{SessionEvent::sessions_ended, "fcgi_users_sessions_ended_total",
                  "Times all sessions of a user were ended by logout-all."}}) {
        out +=
            std::string("# HELP ") + c.name + " " + c.help + "\n# TYPE " + c.name + " counter\n" +
            c.name + " " +
            std::to_string(events_[static_cast<size_t>(c.event)].load(std::memory_order_relaxed)) +
            "\n";
    }
    out +=
        "# HELP fcgi_users_hook_slots Hook delivery slots (hook.concurrency): running a "
        "command, and in all.\n"
        "# TYPE fcgi_users_hook_slots gauge\n"
        "fcgi_users_hook_slots{state=\"busy\"} " +
        std::to_string(hook_slots_busy_.load(std::memory_order_relaxed)) +
        "\n"
        "fcgi_users_hook_slots{state=\"total\"} " +
        std::to_string(hook_slots_total_.load(std::memory_order_relaxed)) + "\n";
    out +=
        "# HELP fcgi_users_hook_runs_total Hook commands run, by how they ended (cancelled: "
        "killed by a stop, retried later; not_started: this process lacked descriptors or "
        "processes, no attempt spent).\n"
        "# TYPE fcgi_users_hook_runs_total counter\n";
    const char* run_names[] = {"done", "failed", "timed_out", "cancelled", "not_started"};
    for (size_t i = 0; i < hook_runs_.size(); ++i)
        out += std::string("fcgi_users_hook_runs_total{outcome=\"") + run_names[i] + "\"} " +
               std::to_string(hook_runs_[i].load(std::memory_order_relaxed)) + "\n";
    out +=
        "# HELP fcgi_users_hook_given_up_total Hook events left failed after hook.max_attempts.\n"
        "# TYPE fcgi_users_hook_given_up_total counter\n"
        "fcgi_users_hook_given_up_total " +
        std::to_string(hook_given_up_.load(std::memory_order_relaxed)) +
        "\n"
        "# HELP fcgi_users_hook_takeovers_total Hook events claimed after the lease of a host "
        "that never reported (killed, cut off): their command may run twice.\n"
        "# TYPE fcgi_users_hook_takeovers_total counter\n"
        "fcgi_users_hook_takeovers_total " +
        std::to_string(hook_takeovers_.load(std::memory_order_relaxed)) + "\n";
    return out;
}

}  // namespace fu
