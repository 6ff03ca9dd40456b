// {prefix}/login and {prefix}/logout for each configured backend
// (fastapi-users' router/auth.py), with the transport's responses.
#include <ctime>

#include "handlers/common.h"
#include "handlers/context.h"
#include "http/body.h"

namespace fu {
namespace {

std::string cookie_attributes(const CookieConfig& c) {
    std::string out;
    if (!c.domain.empty()) out += "; Domain=" + c.domain;
    if (c.httponly) out += "; HttpOnly";
    return out;
}

std::string cookie_tail(const CookieConfig& c) {
    std::string out = "; Path=" + c.path;
    out += "; SameSite=" + c.samesite;
    if (c.secure) out += "; Secure";
    return out;
}

// Starlette's attribute order: HttpOnly; Max-Age; Path; SameSite; Secure.
std::string login_cookie(const CookieConfig& c, const std::string& token) {
    std::string out = c.name + "=" + token + cookie_attributes(c);
    if (c.max_age > 0) out += "; Max-Age=" + std::to_string(c.max_age);
    return out + cookie_tail(c);
}

std::string logout_cookie(const CookieConfig& c) {
    return c.name + "=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT" + cookie_attributes(c) + "; Max-Age=0" +
           cookie_tail(c);
}

http::Response login(const BackendConfig& backend, const http::Request& req, Context& ctx) {
    http::Response error;
    auto form = http::read_form(req, error);
    if (!form) return error;
    std::vector<http::FieldError> problems;
    const std::string* username = http::find(*form, "username");
    const std::string* password = http::find(*form, "password");
    const std::string* grant_type = http::find(*form, "grant_type");
    if (grant_type && !grant_type->empty() && *grant_type != "password")
        problems.push_back({{"body", "grant_type"}, "String should match pattern '^password$'", "string_pattern_mismatch"});
    if (!username || username->empty()) problems.push_back({{"body", "username"}, "Field required", "missing"});
    if (!password || password->empty()) problems.push_back({{"body", "password"}, "Field required", "missing"});
    if (!problems.empty()) return http::unprocessable(problems);

    auto found = ctx.manager.authenticate(*username, *password);
    if (!found) return server_failure(found.error().code);
    if (!*found || !(*found)->is_active) return http::bad_request("LOGIN_BAD_CREDENTIALS");
    const User& user = **found;
    if (backend.requires_verification && !user.is_verified) return http::bad_request("LOGIN_USER_NOT_VERIFIED");

    auto token = ctx.auth.write_token(backend, user);
    if (!token) return auth_failure(token.error().code);
    if (auto r = ctx.manager.on_after_login(user); !r) return server_failure(r.error().code);

    return login_response(backend, ctx.deps.config, *token);
}

http::Response logout(const BackendConfig& backend, const http::Request& req, Context& ctx) {
    auto who = ctx.auth.current_user(req, backend, {.active = true});
    if (!who) return auth_failure(who.error().code);
    if (auto r = ctx.auth.destroy_token(backend, who->token); !r) return auth_failure(r.error().code);
    http::Response res = http::no_content();
    if (backend.transport == Transport::cookie)
        res.with_header("Set-Cookie", logout_cookie(ctx.deps.config.cookie));
    res.with_header("Cache-Control", "no-store");
    return res;
}

}  // namespace

http::Response login_response(const BackendConfig& backend, const Config& config, const std::string& token) {
    http::Response res;
    if (backend.transport == Transport::bearer) {
        json::Doc d(cJSON_CreateObject());
        cJSON_AddStringToObject(d.get(), "access_token", token.c_str());
        cJSON_AddStringToObject(d.get(), "token_type", "bearer");
        res = http::json_response(200, d.get());
    } else {
        res = http::no_content();
        res.with_header("Set-Cookie", login_cookie(config.cookie, token));
    }
    res.with_header("Cache-Control", "no-store");
    return res;
}

void register_auth_routes(http::Router& router, const Config& config) {
    for (const BackendConfig& b : config.backends) {
        const BackendConfig* backend = &b;
        router.add("POST", b.prefix + "/login",
                   [backend](const http::Request& req, Context& ctx) { return login(*backend, req, ctx); },
                   http::Cost::hashes_password);
        router.add("POST", b.prefix + "/logout",
                   [backend](const http::Request& req, Context& ctx) { return logout(*backend, req, ctx); });
    }
}

}  // namespace fu
