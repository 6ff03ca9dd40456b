// POST /auth/request-verify-token and /auth/verify (fastapi-users'
// router/verify.py). request-verify-token answers 202 whatever the address.
#include "handlers/common.h"
#include "handlers/context.h"
#include "http/body.h"
#include "util/log.h"

namespace fu {
namespace {

http::Response failure(const Error<VerifyError>& e) {
    switch (e.code) {
        case VerifyError::bad_token:
            return http::bad_request("VERIFY_USER_BAD_TOKEN");
        case VerifyError::already_verified:
            return http::bad_request("VERIFY_USER_ALREADY_VERIFIED");
        case VerifyError::unavailable:
        case VerifyError::internal:
            return server_failure(e.code);
    }  // no default: a new VerifyError is decided here
    return http::internal_error();
}

http::Response handle_request_verify_token(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto email = body.required_email("email");
    if (body.failed()) return body.response();
    // As forgot-password: nothing about the user before the answer.
    if (auto up = ctx.manager.ping(); !up) return server_failure(up.error().code);
    return accepted_then([&manager = ctx.manager, address = std::move(*email)] {
        if (!manager.request_verify(address))
            log::warn("request-verify-token: the database failed after the answer");
    });
}

http::Response handle_verify(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto token = body.required_string("token");
    if (body.failed()) return body.response();
    // Token guessing is bounded per client address (auth/login_throttle.h).
    const std::string address = ctx.throttle.client_address(req);
    if (auto refused = token_guess_refused(ctx, address, "VERIFY_USER_TOO_MANY_ATTEMPTS"))
        return std::move(*refused);
    auto user = ctx.manager.verify(*token);
    if (user) return user_response(200, *user, ctx);
    if (user.error().code == VerifyError::bad_token)
        if (auto r = ctx.throttle.token_failed(address); !r) return store_failure(r.error());
    return failure(user.error());
}

}  // namespace

void register_verify_routes(http::Router& router, const Config&) {
    router.add("POST", "/auth/request-verify-token", handle_request_verify_token);
    router.add("POST", "/auth/verify", handle_verify);
}

}  // namespace fu
