// /users/me and /users/{id} (fastapi-users' router/users.py).
#include "handlers/common.h"
#include "handlers/context.h"
#include "http/body.h"

namespace fu {
namespace {

// Reads a PATCH body; `safe` ignores the flags (still type-checked).
std::optional<UserUpdate> read_update(http::JsonBody& body, bool safe) {
    UserUpdate u;
    u.email = body.optional_email("email");
    u.password = body.optional_string("password", true);
    auto is_active = body.optional_bool("is_active");
    auto is_superuser = body.optional_bool("is_superuser");
    auto is_verified = body.optional_bool("is_verified");
    if (body.failed()) return std::nullopt;
    if (!safe) {
        u.is_active = is_active;
        u.is_superuser = is_superuser;
        u.is_verified = is_verified;
    }
    return u;
}

// The route group's failures, each decided here once (no default: a new
// error value is a compile error until it is).
http::Response failure(const Error<UpdateError>& e) {
    switch (e.code) {
        case UpdateError::email_taken:
            return http::bad_request("UPDATE_USER_EMAIL_ALREADY_EXISTS");
        case UpdateError::invalid_password:
            return http::bad_request("UPDATE_USER_INVALID_PASSWORD", e.detail);
        case UpdateError::not_exists:
            return http::not_found();  // deleted meanwhile
        case UpdateError::session_ended:
            return auth_failure(
                AuthError::unauthorized);  // ended meanwhile: as for the next request
        case UpdateError::unavailable:
        case UpdateError::internal:
            return server_failure(e.code);
    }
    return http::internal_error();
}

http::Response failure(UserError e) {
    switch (e) {
        case UserError::not_exists:
            return http::not_found();
        case UserError::unavailable:
        case UserError::internal:
            return server_failure(e);
    }
    return http::internal_error();
}

http::Response update_answer(const Result<User, UpdateError>& r, Context& ctx) {
    return r ? user_response(200, *r, ctx) : failure(r.error());
}

http::Response handle_get_me(const http::Request& req, Context& ctx) {
    auto who = ctx.auth.current_user(req, {.active = true});
    if (!who) return auth_failure(who.error().code);
    return user_response(200, who->user, ctx);
}

http::Response handle_patch_me(const http::Request& req, Context& ctx) {
    auto who = ctx.auth.current_user(req, {.active = true});
    if (!who) return auth_failure(who.error().code);
    http::JsonBody body(req);
    auto change = read_update(body, true);
    if (!change) return body.response();
    // A new password ends the other sessions; this one stays logged in.
    auto keep = ctx.auth.keep_of(*who, who->user.id);
    return update_answer(ctx.manager.update(who->user, *change, true, keep), ctx);
}

// The superuser check first, then the user or 404 (also for a non-UUID id).
std::variant<User, http::Response> target_user(const http::Request& req, Context& ctx,
                                               std::optional<Authenticated>* caller = nullptr) {
    auto who = ctx.auth.current_user(req, {.active = true, .superuser = true});
    if (!who) return auth_failure(who.error().code);
    if (caller) *caller = *who;
    auto user = ctx.manager.get(req.path_params.at("id"));
    if (user) return std::move(*user);
    return failure(user.error().code);
}

http::Response handle_get_user(const http::Request& req, Context& ctx) {
    auto target = target_user(req, ctx);
    if (auto* res = std::get_if<http::Response>(&target)) return std::move(*res);
    return user_response(200, std::get<User>(target), ctx);
}

http::Response handle_patch_user(const http::Request& req, Context& ctx) {
    std::optional<Authenticated> who;
    auto target = target_user(req, ctx, &who);
    if (auto* res = std::get_if<http::Response>(&target)) return std::move(*res);
    http::JsonBody body(req);
    auto change = read_update(body, false);
    if (!change) return body.response();
    const User& user = std::get<User>(target);
    auto keep = ctx.auth.keep_of(*who, user.id);
    return update_answer(ctx.manager.update(user, *change, false, keep), ctx);
}

http::Response handle_delete_user(const http::Request& req, Context& ctx) {
    auto target = target_user(req, ctx);
    if (auto* res = std::get_if<http::Response>(&target)) return std::move(*res);
    if (auto r = ctx.manager.remove(std::get<User>(target)); !r) return failure(r.error().code);
    return http::no_content();
}

}  // namespace

void register_users_routes(http::Router& router, const Config&) {
    router.add("GET", "/users/me", handle_get_me);
    router.add("PATCH", "/users/me", handle_patch_me, http::Cost::hashes_password);
    router.add("GET", "/users/{id}", handle_get_user);
    router.add("PATCH", "/users/{id}", handle_patch_user, http::Cost::hashes_password);
    router.add("DELETE", "/users/{id}", handle_delete_user);
}

}  // namespace fu
