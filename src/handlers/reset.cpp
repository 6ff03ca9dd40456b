// POST /auth/forgot-password and /auth/reset-password (fastapi-users'
// router/reset.py). forgot-password answers 202 whatever the address.
#include "handlers/common.h"
#include "handlers/context.h"
#include "http/body.h"

namespace fu {
namespace {

http::Response handle_forgot_password(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto email = body.required_email("email");
    if (body.failed()) return body.response();
    if (auto r = ctx.manager.forgot_password(*email); !r) return server_failure(r.error().code);
    return http::json_text(202, "null");
}

http::Response handle_reset_password(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto token = body.required_string("token");
    auto password = body.required_string("password");
    if (body.failed()) return body.response();
    // Token guessing is bounded per client address (auth/login_throttle.h).
    const std::string address = ctx.throttle.client_address(req);
    if (auto refused = token_guess_refused(ctx, address, "RESET_PASSWORD_TOO_MANY_ATTEMPTS")) return std::move(*refused);
    auto user = ctx.manager.reset_password(*token, *password);
    if (user) return http::json_text(200, "null");
    switch (user.error().code) {
    case UserError::invalid_reset_password_token:
        if (auto r = ctx.throttle.token_failed(address); !r) return store_failure(r.error());
        return http::bad_request("RESET_PASSWORD_BAD_TOKEN");
    case UserError::invalid_password:
        return http::bad_request("RESET_PASSWORD_INVALID_PASSWORD", user.error().detail);
    case UserError::already_exists:
    case UserError::not_exists:
    case UserError::inactive:
    case UserError::already_verified:
    case UserError::invalid_verify_token:
    case UserError::unavailable:
    case UserError::internal:
        return server_failure(user.error().code);
    }  // no default: a new UserError is decided here
    return http::internal_error();
}

}  // namespace

void register_reset_routes(http::Router& router, const Config&) {
    router.add("POST", "/auth/forgot-password", handle_forgot_password);
    router.add("POST", "/auth/reset-password", handle_reset_password, http::Cost::hashes_password);
}

}  // namespace fu
