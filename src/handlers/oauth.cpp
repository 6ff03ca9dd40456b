// The OAuth router and the associate router of FastAPI Users, for each
// configured provider: /auth/{name}/authorize and /callback, and
// /auth/associate/{name}/authorize and /callback. They run on the outbound
// threads (Cost::calls_provider), never on the workers, since they wait on
// the provider.
#include <sodium.h>

#include "handlers/common.h"
#include "handlers/context.h"
#include "oauth/provider.h"
#include "oauth/state.h"
#include "oauth/token_cipher.h"
#include "users/oauth_manager.h"
#include "util/log.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

using oauth::Provider;
using oauth::ProviderError;

// FastAPI Users' CSRF cookie: HttpOnly, Secure, SameSite=lax, an hour.
std::string csrf_cookie(const std::string& value, long max_age) {
    return std::string(oauth::kCsrfCookie) + "=" + value +
           "; HttpOnly; Max-Age=" + std::to_string(max_age) + "; Path=/; SameSite=lax; Secure";
}

http::Response provider_failure(const Provider& provider, const Error<ProviderError>& e) {
    const std::string& name = provider.config().name;
    switch (e.code) {
        case ProviderError::unavailable:
            log::warn_limited("oauth " + name,
                              "oauth " + name + ": provider unavailable: " + e.detail);
            return http::detail(502, "OAUTH_PROVIDER_UNAVAILABLE");
        case ProviderError::bad_response:
            log::warn_limited("oauth " + name,
                              "oauth " + name + ": provider's answer unusable: " + e.detail);
            return http::detail(502, "OAUTH_PROVIDER_BAD_RESPONSE");
        case ProviderError::refused:
            return http::bad_request(e.detail);
        case ProviderError::bad_id_token:
            return http::bad_request("OAUTH_INVALID_ID_TOKEN");
        case ProviderError::no_email:
            return http::bad_request("OAUTH_NOT_AVAILABLE_EMAIL");
    }  // no default: a new outcome is decided here
    return http::internal_error();
}

http::Response oauth_failure(const Error<OAuthError>& e) {
    switch (e.code) {
        case OAuthError::user_already_exists:
            return http::bad_request("OAUTH_USER_ALREADY_EXISTS");
        case OAuthError::account_taken:
            return http::bad_request("OAUTH_USER_ALREADY_EXISTS");
        case OAuthError::invalid_email:
            return http::bad_request("OAUTH_NOT_AVAILABLE_EMAIL");
        case OAuthError::unavailable:
            return http::service_unavailable();
        case OAuthError::internal:
            return http::internal_error();
    }
    return http::internal_error();
}

const std::string& redirect_uri(const Provider& p, bool associate) {
    return associate ? p.config().associate_redirect_url : p.config().redirect_url;
}

http::Response authorize(Provider& provider, bool associate, const http::Request& req,
                         Context& ctx) {
    const OAuthConfig& oc = ctx.deps.config.oauth;
    const std::string csrf = sodium::random_token(32);
    oauth::State state{oauth::csrf_hash(csrf), provider.config().name, associate, "", ""};
    if (associate) {
        auto who = ctx.auth.current_user(req, {.active = true});
        if (!who) return auth_failure(who.error().code);
        state.sub = who->user.id;
    }
    std::vector<std::string> scopes;
    for (const auto& [name, value] : req.query)
        if (name == "scopes" && !value.empty()) scopes.push_back(value);
    std::string token = oauth::issue_state(ctx.deps.jwt, oc.state_secret, oc.state_lifetime, state);
    std::string verifier = oauth::pkce_verifier(oc.state_secret, csrf);
    auto url = provider.authorization_url(
        redirect_uri(provider, associate), token, scopes, oauth::pkce_challenge(verifier),
        oauth::oidc_nonce(oc.state_secret, csrf), oauth::Deadline(oc.timeout_ms));
    if (!url) return provider_failure(provider, url.error());
    json::Doc d(cJSON_CreateObject());
    cJSON_AddStringToObject(d.get(), "authorization_url", url->c_str());
    http::Response res = http::json_response(200, d.get());
    res.with_header("Set-Cookie", csrf_cookie(csrf, oc.state_lifetime));
    res.with_header("Cache-Control", "no-store");
    return res;
}

// The checks before the provider is asked anything: its error, the state,
// the CSRF cookie. A state or cookie that fails never spends the code.
std::variant<oauth::State, http::Response> checked_state(const Provider& provider, bool associate,
                                                         const http::Request& req,
                                                         const std::string& user_id,
                                                         const Context& ctx) {
    if (const std::string* error = http::find(req.query, "error")) {
        bool plain = !error->empty() && error->size() <= 64 &&
                     error->find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                         std::string::npos;
        return http::bad_request(plain ? *error : std::string("OAUTH_PROVIDER_ERROR"));
    }
    std::vector<http::FieldError> problems;
    const std::string* code = http::find(req.query, "code");
    const std::string* state_param = http::find(req.query, "state");
    if (!code || code->empty())
        problems.push_back({{"query", "code"}, "Field required", "missing"});
    if (!state_param || state_param->empty())
        problems.push_back({{"query", "state"}, "Field required", "missing"});
    if (!problems.empty()) return http::unprocessable(problems);

    const OAuthConfig& oc = ctx.deps.config.oauth;
    auto state = oauth::read_state(ctx.deps.jwt, oc.state_secret, *state_param);
    if (!state) {
        return http::bad_request(state.error().code == oauth::StateError::expired
                                     ? "ACCESS_TOKEN_ALREADY_EXPIRED"
                                     : "ACCESS_TOKEN_DECODE_ERROR");
    }
    // A state is good for the provider and the flow it was issued for only.
    if (state->provider != provider.config().name || state->associate != associate)
        return http::bad_request("ACCESS_TOKEN_DECODE_ERROR");
    const std::string* cookie = req.cookie(oauth::kCsrfCookie);
    if (!cookie || !oauth::cookie_matches(*state, *cookie))
        return http::bad_request("OAUTH_INVALID_STATE");
    state->csrftoken = *cookie;  // the verifier's and the nonce's input
    if (associate && state->sub != user_id) return http::bad_request("OAUTH_INVALID_STATE");
    return std::move(*state);
}

// The code exchanged and the user identified, within one deadline.
std::variant<ProviderAccount, http::Response> provider_account(Provider& provider, bool associate,
                                                               const http::Request& req,
                                                               const oauth::State& state,
                                                               const Context& ctx) {
    const OAuthConfig& oc = ctx.deps.config.oauth;
    oauth::Deadline deadline(oc.timeout_ms);
    auto tokens =
        provider.exchange_code(*http::find(req.query, "code"), redirect_uri(provider, associate),
                               oauth::pkce_verifier(oc.state_secret, state.csrftoken), deadline);
    if (!tokens) return provider_failure(provider, tokens.error());
    auto id =
        provider.identity(*tokens, oauth::oidc_nonce(oc.state_secret, state.csrftoken), deadline);
    if (!id) return provider_failure(provider, id.error());
    // Sealed at once: the provider's tokens are never kept in clear.
    const oauth::TokenCipher& cipher = *ctx.deps.token_cipher;
    return ProviderAccount{
        id->account_id, id->email, cipher.seal(tokens->access_token),
        tokens->refresh_token.empty() ? std::string() : cipher.seal(tokens->refresh_token),
        tokens->expires_at};
}

const BackendConfig* backend_named(const Config& config, const std::string& name) {
    for (const auto& b : config.backends)
        if (b.name == name) return &b;
    return nullptr;
}

http::Response callback(Provider& provider, const http::Request& req, Context& ctx) {
    auto state = checked_state(provider, false, req, "", ctx);
    if (auto* res = std::get_if<http::Response>(&state)) return std::move(*res);
    auto account = provider_account(provider, false, req, std::get<oauth::State>(state), ctx);
    if (auto* res = std::get_if<http::Response>(&account)) return std::move(*res);

    auto login = ctx.oauth.callback(provider.config(), std::get<ProviderAccount>(account));
    if (!login) return oauth_failure(login.error());
    // The user read again with its session generation, in one statement: the
    // state the login is allowed on and the generation its session belongs
    // to are the same instant's, so a deactivation (or any session ending)
    // that commits after this read ends the new session too.
    auto now = ctx.auth.session_user(login->user.id);
    if (!now) return auth_failure(now.error().code);
    if (!*now || !(*now)->user.is_active) return http::bad_request("LOGIN_BAD_CREDENTIALS");
    const User& user = (*now)->user;
    const BackendConfig* backend = backend_named(ctx.deps.config, provider.config().backend);
    if (!backend) return http::internal_error();  // Config checked it is enabled
    if (backend->requires_verification && !user.is_verified)
        return http::bad_request("LOGIN_USER_NOT_VERIFIED");
    return login_response(*backend, user, (*now)->generation, ctx);
}

http::Response associate_callback(Provider& provider, const http::Request& req, Context& ctx) {
    auto who = ctx.auth.current_user(req, {.active = true});
    if (!who) return auth_failure(who.error().code);
    auto state = checked_state(provider, true, req, who->user.id, ctx);
    if (auto* res = std::get_if<http::Response>(&state)) return std::move(*res);
    auto account = provider_account(provider, true, req, std::get<oauth::State>(state), ctx);
    if (auto* res = std::get_if<http::Response>(&account)) return std::move(*res);

    auto user =
        ctx.oauth.associate(provider.config(), std::get<ProviderAccount>(account), who->user);
    if (!user) return oauth_failure(user.error());
    return user_response(200, *user, ctx);
}

// Routes are registered from the configuration; the Provider objects live
// in Deps, built later, so handlers look theirs up by name.
Provider& provider_of(Context& ctx, const std::string& name) {
    return *ctx.deps.providers->find(name);
}

}  // namespace

void register_oauth_routes(http::Router& router, const Config& config) {
    using Handle = http::Response (*)(Provider&, const http::Request&, Context&);
    struct Route {
        const char* prefix;  // "/auth/" or "/auth/associate/"
        const char* action;
        Handle handle;
    };
    static constexpr Route routes[] = {
        {"/auth/", "/authorize",
         [](Provider& p, const http::Request& r, Context& c) { return authorize(p, false, r, c); }},
        {"/auth/", "/callback", callback},
        {"/auth/associate/", "/authorize",
         [](Provider& p, const http::Request& r, Context& c) { return authorize(p, true, r, c); }},
        {"/auth/associate/", "/callback", associate_callback},
    };
    for (const auto& p : config.oauth.providers) {
        for (const Route& route : routes) {
            std::string name = p.name;
            Handle handle = route.handle;
            router.add(
                "GET", route.prefix + name + route.action,
                [name, handle](const http::Request& req, Context& ctx) {
                    return handle(provider_of(ctx, name), req, ctx);
                },
                http::Cost::calls_provider);
        }
    }
}

}  // namespace fu
