// {prefix}/login and {prefix}/logout for each configured backend
// (fastapi-users' router/auth.py), with the transport's responses; beyond
// it, {prefix}/refresh where refresh tokens are on, and /auth/logout-all.
#include <ctime>

#include "handlers/common.h"
#include "handlers/context.h"
#include "http/body.h"
#include "http/form.h"
#include "metrics/metrics.h"
#include "util/log.h"

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
    return c.name + "=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT" + cookie_attributes(c) +
           "; Max-Age=0" + cookie_tail(c);
}

http::Response login(const BackendConfig& backend, const http::Request& req, Context& ctx) {
    http::Response error;
    auto form = http::read_form(req, error);
    if (!form) {
        // FastAPI reads a body that is no form (JSON, a common client
        // mistake) as an empty form: both fields missing. A broken multipart
        // body stays its own 422.
        if (http::media_type(req.content_type) == "multipart/form-data") return error;
        form = http::Form{};
    }
    // OAuth2PasswordRequestForm's fields, in its order; a file sent for any
    // of them is no text.
    std::vector<http::FieldError> problems;
    const std::string* grant_type = form->text("grant_type", false, problems);
    if (grant_type && !grant_type->empty() && *grant_type != "password")
        problems.push_back({{"body", "grant_type"},
                            "String should match pattern '^password$'",
                            "string_pattern_mismatch"});
    const std::string* username = form->text("username", true, problems);
    const std::string* password = form->text("password", true, problems);
    for (const char* other : {"scope", "client_id", "client_secret"})  // read, then unused
        form->text(other, false, problems);
    if (!problems.empty()) return http::unprocessable(problems);

    // The throttle check rides on the user lookup, before any hash.
    auto attempt = ctx.throttle.begin(*username, ctx.throttle.client_address(req));
    if (!attempt) return store_failure(attempt.error());
    if (attempt->lookup.wait_ms > 0) {
        count(ctx, SessionEvent::login_throttled);
        return too_many_attempts("LOGIN_TOO_MANY_ATTEMPTS", attempt->lookup.wait_ms);
    }
    auto found = ctx.manager.check_password(std::move(attempt->lookup.user), *password);
    if (!found) return server_failure(found.error().code);
    if (!*found || !(*found)->is_active) {
        if (auto r = ctx.throttle.failed(*attempt); !r) return store_failure(r.error());
        return http::bad_request("LOGIN_BAD_CREDENTIALS");
    }
    const User& user = **found;
    if (auto r = ctx.throttle.succeeded(*attempt); !r) return store_failure(r.error());
    if (backend.requires_verification && !user.is_verified)
        return http::bad_request("LOGIN_USER_NOT_VERIFIED");

    return login_response(backend, user, attempt->lookup.generation, ctx);
}

http::Response logout(const BackendConfig& backend, const http::Request& req, Context& ctx) {
    auto who = ctx.auth.current_user(req, backend, {.active = true});
    if (!who) return auth_failure(who.error().code);
    if (auto r = ctx.auth.destroy_token(*who); !r) return auth_failure(r.error().code);
    if (backend.strategy == Strategy::jwt) count(ctx, SessionEvent::token_revoked);
    http::Response res = http::no_content();
    if (backend.transport == Transport::cookie)
        res.with_header("Set-Cookie", logout_cookie(ctx.deps.config.cookie));
    res.with_header("Cache-Control", "no-store");
    return res;
}

// POST {prefix}/refresh: a refresh token (form or JSON field refresh_token)
// for a new pair; a spent one revokes its family (see auth/refresh_tokens.h).
http::Response refresh(const BackendConfig& backend, const http::Request& req, Context& ctx) {
    std::optional<std::string> token;
    if (http::media_type(req.content_type) == "application/json") {
        http::JsonBody body(req);
        token = body.required_string("refresh_token");
        if (body.failed()) return body.response();
    } else {
        http::Response error;
        auto form = http::read_form(req, error);
        if (!form) return error;
        std::vector<http::FieldError> problems;
        const std::string* field = form->text("refresh_token", true, problems);
        if (!field) return http::unprocessable(problems);
        token = *field;
    }
    std::optional<User> owner;
    auto pair = ctx.refresh.refresh(backend, *token, owner);
    if (pair) return token_answer(pair->access_token, pair->refresh_token);
    switch (pair.error().code) {
        case RefreshError::invalid:
            return http::unauthorized();
        case RefreshError::reused:
            count(ctx, SessionEvent::refresh_reuse);
            count(ctx, SessionEvent::token_revoked);
            log::warn("refresh token reused for user " + owner->id + ": its session is revoked");
            if (auto r = ctx.manager.on_after_refresh_reuse(*owner); !r)
                return server_failure(r.error().code);
            return http::unauthorized();
        case RefreshError::unavailable:
            return http::service_unavailable();
    }  // no default: a new RefreshError is decided here
    return http::internal_error();
}

// POST /auth/logout-all: ends every session of the caller, its own included.
http::Response logout_all(const http::Request& req, Context& ctx) {
    auto who = ctx.auth.current_user(req, {.active = true});
    if (!who) return auth_failure(who.error().code);
    if (auto r = ctx.auth.end_sessions(*who); !r) return auth_failure(r.error().code);
    count(ctx, SessionEvent::sessions_ended);
    http::Response res = http::no_content();
    if (who->backend->transport == Transport::cookie)
        res.with_header("Set-Cookie", logout_cookie(ctx.deps.config.cookie));
    res.with_header("Cache-Control", "no-store");
    return res;
}

}  // namespace

http::Response login_response(const BackendConfig& backend, const User& user, long long generation,
                              Context& ctx) {
    NewSession session{Authenticator::new_session_id(), generation};
    auto token = ctx.auth.write_token(backend, user, session);
    if (!token) return auth_failure(token.error().code);
    std::optional<std::string> refresh;
    if (backend.refresh_tokens) {
        auto r = ctx.refresh.issue(user, session.id, session.generation);
        if (!r) return auth_failure(r.error().code);
        refresh = std::move(*r);
    }
    if (auto r = ctx.manager.on_after_login(user); !r) return server_failure(r.error().code);

    if (backend.transport == Transport::bearer) return token_answer(*token, refresh);
    http::Response res = http::no_content();
    res.with_header("Set-Cookie", login_cookie(ctx.deps.config.cookie, *token));
    res.with_header("Cache-Control", "no-store");
    return res;
}

void register_auth_routes(http::Router& router, const Config& config) {
    router.add("POST", "/auth/logout-all", logout_all);
    for (const BackendConfig& b : config.backends) {
        const BackendConfig* backend = &b;
        router.add(
            "POST", b.prefix + "/login",
            [backend](const http::Request& req, Context& ctx) { return login(*backend, req, ctx); },
            http::Cost::hashes_password);
        router.add("POST", b.prefix + "/logout", [backend](const http::Request& req, Context& ctx) {
            return logout(*backend, req, ctx);
        });
        if (b.refresh_tokens)
            router.add("POST", b.prefix + "/refresh",
                       [backend](const http::Request& req, Context& ctx) {
                           return refresh(*backend, req, ctx);
                       });
    }
}

}  // namespace fu
