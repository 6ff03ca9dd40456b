// Routes about the service itself: GET /healthz and GET /metrics.
#include "fcgi/metrics.h"
#include "handlers/common.h"
#include "handlers/context.h"

namespace fu {
namespace {

http::Response handle_healthz(const http::Request&, Context& ctx) {
    if (!ctx.stores.ping()) return http::detail(503, "Database unavailable");
    return http::json_text(200, R"({"status":"ok"})");
}

// Prometheus text: the request counters of every thread, and what the
// database says about hooks (left out while it does not answer).
http::Response handle_metrics(const http::Request&, Context& ctx) {
    std::string body = ctx.deps.metrics ? ctx.deps.metrics->exposition() : std::string();
    auto hooks = ctx.stores.hook_events().counts();
    body += "# HELP fcgi_users_database_up Whether the database answered this scrape.\n"
            "# TYPE fcgi_users_database_up gauge\n"
            "fcgi_users_database_up " + std::string(hooks ? "1" : "0") + "\n";
    if (hooks) {
        body += "# HELP fcgi_users_hook_events Hook deliveries in table hook_event, by state.\n"
                "# TYPE fcgi_users_hook_events gauge\n"
                "fcgi_users_hook_events{state=\"pending\"} " + std::to_string(hooks->pending) + "\n"
                "fcgi_users_hook_events{state=\"failed\"} " + std::to_string(hooks->failed) + "\n";
    }
    const Config& c = ctx.deps.config;
    body += "# HELP fcgi_users_threads Worker and hash threads configured.\n"
            "# TYPE fcgi_users_threads gauge\n"
            "fcgi_users_threads{kind=\"worker\"} " + std::to_string(c.workers) + "\n"
            "fcgi_users_threads{kind=\"hash\"} " + std::to_string(ctx.deps.hasher.slots()) + "\n";
    http::Response res;
    res.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    res.body = std::move(body);
    return res;
}

}  // namespace

void register_meta_routes(http::Router& router, const Config&) {
    router.add("GET", "/healthz", handle_healthz);
    router.add("GET", "/metrics", handle_metrics);
}

}  // namespace fu
