// POST /auth/request-verify-token and /auth/verify (fastapi-users'
// router/verify.py). request-verify-token answers 202 whatever the address.
#include "handlers/common.h"
#include "handlers/context.h"
#include "http/body.h"

namespace fu {
namespace {

http::Response handle_request_verify_token(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto email = body.required_email("email");
    if (body.failed()) return body.response();
    if (auto r = ctx.manager.request_verify(*email); !r) return server_failure(r.error().code);
    return http::json_text(202, "null");
}

http::Response handle_verify(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto token = body.required_string("token");
    if (body.failed()) return body.response();
    // Token guessing is bounded per client address (auth/login_throttle.h).
    const std::string address = ctx.throttle.client_address(req);
    if (auto refused = token_guess_refused(ctx, address, "VERIFY_USER_TOO_MANY_ATTEMPTS")) return std::move(*refused);
    auto user = ctx.manager.verify(*token);
    if (user) return user_response(200, *user);
    switch (user.error().code) {
    case UserError::invalid_verify_token:
        if (auto r = ctx.throttle.token_failed(address); !r) return store_failure(r.error());
        return http::bad_request("VERIFY_USER_BAD_TOKEN");
    case UserError::already_verified: return http::bad_request("VERIFY_USER_ALREADY_VERIFIED");
    case UserError::already_exists:
    case UserError::not_exists:
    case UserError::inactive:
    case UserError::invalid_reset_password_token:
    case UserError::invalid_password:
    case UserError::unavailable:
    case UserError::internal:
        return server_failure(user.error().code);
    }  // no default: a new UserError is decided here
    return http::internal_error();
}

}  // namespace

void register_verify_routes(http::Router& router, const Config&) {
    router.add("POST", "/auth/request-verify-token", handle_request_verify_token);
    router.add("POST", "/auth/verify", handle_verify);
}

}  // namespace fu
