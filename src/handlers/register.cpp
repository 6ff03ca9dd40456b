// POST /auth/register (fastapi-users' router/register.py).
#include "handlers/common.h"
#include "handlers/context.h"
#include "http/body.h"

namespace fu {
namespace {

http::Response failure(const Error<CreateUserError>& e) {
    switch (e.code) {
        case CreateUserError::already_exists:
            return http::bad_request("REGISTER_USER_ALREADY_EXISTS");
        case CreateUserError::invalid_email:  // JsonBody::required_email refused it already
            return http::unprocessable({{{"body", "email"},
                                         "value is not a valid email address: " + e.detail,
                                         "value_error"}});
        case CreateUserError::invalid_password:
            return http::bad_request("REGISTER_INVALID_PASSWORD", e.detail);
        case CreateUserError::unavailable:
        case CreateUserError::internal:
            return server_failure(e.code);
    }  // no default: a new CreateUserError is decided here
    return http::internal_error();
}

http::Response handle_register(const http::Request& req, Context& ctx) {
    http::JsonBody body(req);
    auto email = body.required_email("email");
    auto password = body.required_string("password");
    // The flags are type-checked as FastAPI Users' UserCreate does, then ignored.
    (void)body.optional_bool("is_active");
    (void)body.optional_bool("is_superuser");
    (void)body.optional_bool("is_verified");
    if (body.failed()) return body.response();

    auto user = ctx.manager.create(*email, *password);
    return user ? user_response(201, *user, ctx) : failure(user.error());
}

}  // namespace

void register_register_routes(http::Router& router, const Config&) {
    router.add("POST", "/auth/register", handle_register, http::Cost::hashes_password);
}

}  // namespace fu
