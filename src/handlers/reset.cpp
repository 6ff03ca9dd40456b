// POST /auth/forgot-password and /auth/reset-password (fastapi-users'
// router/reset.py). forgot-password answers 202 whatever the address.
#include "handlers/common.h"
#include "handlers/context.h"
#include "http/body.h"
#include "util/log.h"

namespace fu {
namespace {

http::Response failure(const Error<ResetError>& e) {
    switch (e.code) {
        case ResetError::bad_token:
            return http::bad_request("RESET_PASSWORD_BAD_TOKEN");
        case ResetError::invalid_password:
            return http::bad_request("RESET_PASSWORD_INVALID_PASSWORD", e.detail);
        case ResetError::unavailable:
        case ResetError::internal:
            return server_failure(e.code);
    }  // no default: a new ResetError is decided here
    return http::internal_error();
}

http::Response handle_forgot_password(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto email = body.required_email("email");
    if (body.failed()) return body.response();
    // Whether the address has an account must not show, not even in the
    // answer's time: nothing about the user is looked at before the answer.
    // The database is checked first, equally for all, so an outage stays a 503.
    if (auto up = ctx.manager.ping(); !up) return server_failure(up.error().code);
    return accepted_then([&manager = ctx.manager, address = std::move(*email)] {
        if (!manager.forgot_password(address))
            log::warn("forgot-password: the database failed after the answer");
    });
}

http::Response handle_reset_password(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto token = body.required_string("token");
    auto password = body.required_string("password");
    if (body.failed()) return body.response();
    // Token guessing is bounded per client address (auth/login_throttle.h).
    const std::string address = ctx.throttle.client_address(req);
    if (auto refused = token_guess_refused(ctx, address, "RESET_PASSWORD_TOO_MANY_ATTEMPTS"))
        return std::move(*refused);
    auto user = ctx.manager.reset_password(*token, *password);
    if (user) return http::json_text(200, "null");
    if (user.error().code == ResetError::bad_token)
        if (auto r = ctx.throttle.token_failed(address); !r) return store_failure(r.error());
    return failure(user.error());
}

}  // namespace

void register_reset_routes(http::Router& router, const Config&) {
    router.add("POST", "/auth/forgot-password", handle_forgot_password);
    router.add("POST", "/auth/reset-password", handle_reset_password, http::Cost::hashes_password);
}

}  // namespace fu
