// Routes about the service itself: GET /healthz.
#include "handlers/common.h"
#include "handlers/context.h"

namespace fu {
namespace {

http::Response handle_healthz(const http::Request&, Context& ctx) {
    if (!ctx.stores.ping()) return http::detail(503, "Database unavailable");
    return http::json_text(200, R"({"status":"ok"})");
}

}  // namespace

void register_meta_routes(http::Router& router, const Config&) { router.add("GET", "/healthz", handle_healthz); }

}  // namespace fu
