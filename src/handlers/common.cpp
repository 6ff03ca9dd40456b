// The user object and the failure answers shared by the route groups, and
// the list of route groups registered at start-up.
#include "handlers/common.h"

#include "handlers/context.h"
#include "oauth/provider.h"
#include "users/oauth_manager.h"

namespace fu {

// Written as cJSON would print the object (the text of each C string: a NUL
// put there by SQL ends it, as it does for cJSON), without building a tree.
http::Response user_response(int status, const User& user, Context& ctx) {
    std::string body;
    body.reserve(128 + user.email.size());
    body += R"({"id":)";
    json::append_string(body, user.id.c_str());
    body += R"(,"email":)";
    json::append_string(body, user.email.c_str());
    body += R"(,"is_active":)";
    body += user.is_active ? "true" : "false";
    body += R"(,"is_superuser":)";
    body += user.is_superuser ? "true" : "false";
    body += R"(,"is_verified":)";
    body += user.is_verified ? "true" : "false";
    // Without a provider the object stays FastAPI Users' five keys.
    if (ctx.deps.providers && !ctx.deps.providers->empty()) {
        auto accounts = ctx.oauth.accounts(user.id);
        if (!accounts) {
            return accounts.error().code == OAuthError::unavailable ? http::service_unavailable()
                                                                    : http::internal_error();
        }
        json::Doc list(cJSON_CreateArray());
        for (const auto& a : *accounts) {
            cJSON* item = cJSON_CreateObject();
            cJSON_AddStringToObject(item, "id", a.id.c_str());
            cJSON_AddStringToObject(item, "oauth_name", a.oauth_name.c_str());
            cJSON_AddStringToObject(item, "account_id", a.account_id.c_str());
            cJSON_AddStringToObject(item, "account_email", a.account_email.c_str());
            cJSON_AddItemToArray(list.get(), item);
        }
        body += R"(,"oauth_accounts":)";
        body += json::print(list.get());
    }
    body += '}';
    return http::json_text(status, std::move(body));
}

http::Response auth_failure(AuthError e) {
    switch (e) {
        case AuthError::unauthorized:
            return http::unauthorized();
        case AuthError::forbidden:
            return http::forbidden();
        case AuthError::unavailable:
            return http::service_unavailable();
    }
    return http::internal_error();
}

http::Response accepted_then(std::function<void()> work) {
    http::Response res = http::json_text(202, "null");
    res.after = std::move(work);
    return res;
}

http::Response store_failure(const Error<db::DbError>& e) {
    return e.code == db::DbError::unavailable ? http::service_unavailable()
                                              : http::internal_error();
}

http::Response too_many_attempts(const char* code, long long wait_ms) {
    http::Response res = http::detail(429, code);
    res.with_header("Retry-After", std::to_string(LoginThrottle::retry_after_seconds(wait_ms)));
    return res;
}

std::optional<http::Response> token_guess_refused(Context& ctx, const std::string& address,
                                                  const char* code) {
    auto wait = ctx.throttle.token_wait(address);
    if (!wait) return store_failure(wait.error());
    if (*wait <= 0) return std::nullopt;
    count(ctx, SessionEvent::login_throttled);
    return too_many_attempts(code, *wait);
}

http::Response token_answer(const std::string& access_token,
                            const std::optional<std::string>& refresh_token) {
    json::Doc d(cJSON_CreateObject());
    cJSON_AddStringToObject(d.get(), "access_token", access_token.c_str());
    cJSON_AddStringToObject(d.get(), "token_type", "bearer");
    if (refresh_token) cJSON_AddStringToObject(d.get(), "refresh_token", refresh_token->c_str());
    http::Response res = http::json_response(200, d.get());
    res.with_header("Cache-Control", "no-store");
    return res;
}

void count(Context& ctx, SessionEvent e) {
    if (ctx.deps.metrics) ctx.deps.metrics->count(e);
}

void register_routes(http::Router& router, const Config& config) {
    register_meta_routes(router, config);
    register_auth_routes(router, config);
    register_register_routes(router, config);
    register_reset_routes(router, config);
    register_verify_routes(router, config);
    register_users_routes(router, config);
    register_check_routes(router, config);
    register_oauth_routes(router, config);
}

}  // namespace fu
