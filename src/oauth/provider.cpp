// Discovery, JWKS caching, the code exchange and the identity of the user,
// each answer of a provider parsed defensively: a missing field or a wrong
// type is bad_response, never a crash.
#include "oauth/provider.h"

#include <algorithm>
#include <ctime>

#include "util/log.h"

namespace fu::oauth {
namespace {

std::string str(const cJSON* obj, const char* name) {
    const cJSON* c = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(c) ? std::string(c->valuestring) : std::string();
}

bool truthy(const cJSON* c) {
    return cJSON_IsTrue(c) || (cJSON_IsString(c) && std::string(c->valuestring) == "true");
}

// A call that got no usable answer, saying which and why (the handler's log
// line puts the provider's name before it).
Error<ProviderError> fetch_failure(const std::string& what, const Error<FetchError>& e) {
    return make_error(
        e.code == FetchError::too_large ? ProviderError::bad_response : ProviderError::unavailable,
        what + ": " + e.detail);
}

Error<ProviderError> http_failure(const std::string& what, long status) {
    return make_error(ProviderError::unavailable,
                      what + " answered HTTP " + std::to_string(status));
}

// A provider's error code, kept only when it looks like one (RFC 6749 5.2
// codes are printable ASCII without quotes or backslashes; ours are shorter).
std::string safe_error_code(const std::string& e) {
    if (e.empty() || e.size() > 64) return "OAUTH_CODE_EXCHANGE_FAILED";
    for (unsigned char ch : e)
        if (!(std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.'))
            return "OAUTH_CODE_EXCHANGE_FAILED";
    return e;
}

}  // namespace

std::optional<Endpoints> preset_endpoints(const OAuthProviderConfig& config) {
    if (config.preset != "github") return std::nullopt;
    Endpoints e;
    e.oidc = false;
    e.authorization = "https://github.com/login/oauth/authorize";
    e.token = "https://github.com/login/oauth/access_token";
    e.userinfo = "https://api.github.com/user";
    e.emails = "https://api.github.com/user/emails";
    return e;
}

Result<Endpoints, std::string> parse_discovery(std::string_view json,
                                               const std::string& configured_issuer) {
    json::Doc doc = json::parse(json);
    if (!cJSON_IsObject(doc.get()))
        return make_error(std::string("the discovery document is not a JSON object"));
    Endpoints e;
    // Kept exactly as given: the id token's iss must equal it. Compared with
    // the configured issuer up to a trailing slash (which Config strips).
    e.issuer = str(doc.get(), "issuer");
    std::string bare = e.issuer;
    while (bare.size() > 1 && bare.back() == '/') bare.pop_back();
    bool tenant_template = e.issuer.find("{tenantid}") != std::string::npos &&
                           configured_issuer.rfind("https://login.microsoftonline.com/", 0) == 0;
    if (e.issuer.empty() || (bare != configured_issuer && !tenant_template))
        return make_error("issuer '" + e.issuer + "' is not the configured '" + configured_issuer +
                          "'");
    e.authorization = str(doc.get(), "authorization_endpoint");
    e.token = str(doc.get(), "token_endpoint");
    e.jwks = str(doc.get(), "jwks_uri");
    e.userinfo = str(doc.get(), "userinfo_endpoint");
    for (auto [name, url] :
         {std::pair{"authorization_endpoint", &e.authorization},
          std::pair{"token_endpoint", &e.token}, std::pair{"jwks_uri", &e.jwks}}) {
        if (url->empty()) return make_error(std::string(name) + " is missing");
        if (auto problem = provider_url_problem(*url))
            return make_error(std::string(name) + " " + *problem);
    }
    if (!e.userinfo.empty()) {
        if (auto problem = provider_url_problem(e.userinfo))
            return make_error("userinfo_endpoint " + *problem);
    }
    return e;
}

std::string verified_email(const cJSON* claims, const std::string& preset) {
    std::string email = str(claims, "email");
    // A user is created only with an address POST /auth/register would take
    // (UserManager::create checks it); an account already linked goes on
    // logging in whatever its address is now, as in FastAPI Users.
    if (email.empty() || email.size() > 320 || email.find('@') == std::string::npos) return {};
    if (truthy(cJSON_GetObjectItemCaseSensitive(claims, "email_verified"))) return email;
    if (preset == "microsoft" && truthy(cJSON_GetObjectItemCaseSensitive(claims, "xms_edov")))
        return email;
    return {};
}

std::string github_primary_email(std::string_view json) {
    json::Doc doc = json::parse(json);
    if (!cJSON_IsArray(doc.get())) return {};
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, doc.get()) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "primary")) &&
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "verified"))) {
            std::string email = str(item, "email");
            if (email.find('@') != std::string::npos && email.size() <= 320) return email;
        }
    }
    return {};
}

void Provider::warm_up(long timeout_ms) {
    Deadline deadline(timeout_ms);
    auto e = endpoints(deadline);
    if (e && is_oidc()) (void)keys(deadline, false);
}

Result<Endpoints, ProviderError> Provider::endpoints(const Deadline& deadline) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (endpoints_) return *endpoints_;
    }
    if (auto preset = preset_endpoints(config_)) {
        std::lock_guard<std::mutex> lock(mutex_);
        endpoints_ = *preset;
        return *preset;
    }
    // Fetched outside the lock: a slow provider must not make every thread
    // that needs it queue behind one call past its own deadline.
    HttpCall call;
    call.url = config_.issuer + "/.well-known/openid-configuration";
    auto answer = http_.fetch(call, deadline);
    if (!answer) {
        log::warn("oauth " + config_.name + ": discovery failed: " + answer.error().detail);
        return fetch_failure("discovery", answer.error());
    }
    if (answer->status != 200) {
        log::warn("oauth " + config_.name + ": discovery answered " +
                  std::to_string(answer->status));
        return http_failure("discovery", answer->status);
    }
    auto parsed = parse_discovery(answer->body, config_.issuer);
    if (!parsed) {
        log::warn("oauth " + config_.name + ": discovery: " + parsed.error().code);
        return make_error(ProviderError::bad_response, "discovery: " + parsed.error().code);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    endpoints_ = *parsed;
    return *parsed;
}

Result<std::shared_ptr<const std::vector<Jwk>>, ProviderError> Provider::keys(
    const Deadline& deadline, bool refresh) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (keys_ && !refresh) return keys_;
    }
    auto e = endpoints(deadline);
    if (!e) return e.error();
    HttpCall call;
    call.url = e->jwks;
    auto answer = http_.fetch(call, deadline);
    if (!answer) return fetch_failure("jwks", answer.error());
    if (answer->status != 200) return http_failure("jwks", answer->status);
    auto parsed = parse_jwks(answer->body);
    if (!parsed) {
        log::warn("oauth " + config_.name + ": jwks: " + parsed.error().code);
        return make_error(ProviderError::bad_response, "jwks: " + parsed.error().code);
    }
    auto shared = std::make_shared<const std::vector<Jwk>>(std::move(*parsed));
    std::lock_guard<std::mutex> lock(mutex_);
    keys_ = shared;
    return shared;
}

Result<std::string, ProviderError> Provider::authorization_url(
    const std::string& redirect_uri, const std::string& state,
    const std::vector<std::string>& scopes, const std::string& code_challenge,
    const std::string& nonce, const Deadline& deadline) {
    auto e = endpoints(deadline);
    if (!e) return e.error();
    std::vector<std::string> wanted = scopes.empty() ? config_.scopes : scopes;
    // Without openid there is no id token, and nothing this code would trust.
    if (e->oidc && std::find(wanted.begin(), wanted.end(), "openid") == wanted.end())
        wanted.insert(wanted.begin(), "openid");
    std::string scope;
    for (const auto& s : wanted) scope += (scope.empty() ? "" : " ") + s;
    std::string url =
        e->authorization + (e->authorization.find('?') == std::string::npos ? "?" : "&");
    url += "response_type=code&client_id=" + url_encode(config_.client_id) +
           "&redirect_uri=" + url_encode(redirect_uri) + "&state=" + url_encode(state) +
           "&scope=" + url_encode(scope) + "&code_challenge=" + url_encode(code_challenge) +
           "&code_challenge_method=S256";
    if (e->oidc) url += "&nonce=" + url_encode(nonce);
    return url;
}

Result<ProviderTokens, ProviderError> Provider::exchange_code(const std::string& code,
                                                              const std::string& redirect_uri,
                                                              const std::string& code_verifier,
                                                              const Deadline& deadline) {
    auto e = endpoints(deadline);
    if (!e) return e.error();
    HttpCall call;
    call.method = "POST";
    call.url = e->token;
    call.headers = {{"Accept", "application/json"},
                    {"Content-Type", "application/x-www-form-urlencoded"}};
    call.body = "grant_type=authorization_code&code=" + url_encode(code) +
                "&redirect_uri=" + url_encode(redirect_uri) +
                "&code_verifier=" + url_encode(code_verifier);
    if (config_.client_secret.empty()) {
        call.body += "&client_id=" + url_encode(config_.client_id);
    } else {
        call.basic_user = config_.client_id;
        call.basic_password = std::string(config_.client_secret.view());
    }
    auto answer = http_.fetch(call, deadline);
    if (!answer) return fetch_failure("token endpoint", answer.error());
    json::Doc doc = json::parse(answer->body);
    std::string error = str(doc.get(), "error");
    // Any non-2xx is a refusal (a spent code, a bad verifier); GitHub says
    // so with a 200 and an error field.
    if (answer->status < 200 || answer->status >= 300 || !error.empty()) {
        if (answer->status >= 500 && error.empty())
            return http_failure("token endpoint", answer->status);
        return make_error(ProviderError::refused, safe_error_code(error));
    }
    if (!cJSON_IsObject(doc.get()))
        return make_error(ProviderError::bad_response, "token answer is not JSON");
    ProviderTokens t;
    t.access_token = str(doc.get(), "access_token");
    t.refresh_token = str(doc.get(), "refresh_token");
    t.id_token = str(doc.get(), "id_token");
    if (t.access_token.empty()) return make_error(ProviderError::bad_response, "no access_token");
    if (e->oidc && t.id_token.empty())
        return make_error(ProviderError::bad_response, "no id_token");
    const cJSON* expires_in = cJSON_GetObjectItemCaseSensitive(doc.get(), "expires_in");
    if (cJSON_IsNumber(expires_in) && expires_in->valuedouble > 0 && expires_in->valuedouble < 1e9)
        t.expires_at = static_cast<long long>(std::time(nullptr)) +
                       static_cast<long long>(expires_in->valuedouble);
    return t;
}

Result<json::Doc, ProviderError> Provider::get_json(const std::string& url,
                                                    const std::string& bearer,
                                                    const Deadline& deadline) {
    HttpCall call;
    call.url = url;
    call.headers = {{"Accept", "application/json"}, {"Authorization", "Bearer " + bearer}};
    auto answer = http_.fetch(call, deadline);
    if (!answer) return fetch_failure("userinfo", answer.error());
    if (answer->status >= 500) return http_failure("userinfo", answer->status);
    // The access token refused (RFC 6750's 401): revoked (a provider revokes
    // what it issued for a code presented twice, RFC 6749 4.1.2) or expired.
    // A refusal, as a spent code at the token endpoint, not a provider's
    // failure. A 403 (GitHub's rate limit, a missing scope) stays one.
    if (answer->status == 401) return make_error(ProviderError::refused, "invalid_token");
    json::Doc doc = json::parse(answer->body);
    if (answer->status != 200 || !doc)
        return make_error(
            ProviderError::bad_response,
            "userinfo answered HTTP " + std::to_string(answer->status) + (doc ? "" : ", not JSON"));
    return doc;
}

Result<Identity, ProviderError> Provider::identity(const ProviderTokens& tokens,
                                                   const std::string& nonce,
                                                   const Deadline& deadline) {
    auto e = endpoints(deadline);
    if (!e) return e.error();
    Identity id;
    if (!e->oidc) {
        auto user = get_json(e->userinfo, tokens.access_token, deadline);
        if (!user) return user.error();
        const cJSON* gid = cJSON_GetObjectItemCaseSensitive(user->get(), "id");
        if (!cJSON_IsNumber(gid))
            return make_error(ProviderError::bad_response, "github user has no id");
        id.account_id = std::to_string(static_cast<long long>(gid->valuedouble));
        HttpCall call;
        call.url = e->emails;
        call.headers = {{"Accept", "application/json"},
                        {"Authorization", "Bearer " + tokens.access_token}};
        auto emails = http_.fetch(call, deadline);
        if (!emails) return fetch_failure("emails", emails.error());
        id.email = emails->status == 200 ? github_primary_email(emails->body) : std::string();
        if (id.email.empty()) return make_error(ProviderError::no_email);
        return id;
    }

    IdTokenExpectations expect{e->issuer, config_.client_id, nonce, std::time(nullptr)};
    auto keyset = keys(deadline, false);
    if (!keyset) return keyset.error();
    auto claims = check_id_token(tokens.id_token, **keyset, expect);
    if (!claims && (claims.error().code == IdTokenError::unknown_key ||
                    claims.error().code == IdTokenError::bad_signature)) {
        // The provider may have replaced its keys since we cached them: under
        // new kids (unknown_key), or under the kid it had, or its one key
        // without a kid (the cached key fails the signature). Fetched again,
        // once per id token; the token comes from the provider's own token
        // endpoint, so no client can make it fetch more.
        keyset = keys(deadline, true);
        if (!keyset) return keyset.error();
        claims = check_id_token(tokens.id_token, **keyset, expect);
    }
    if (!claims) {
        log::warn("oauth " + config_.name + ": id token refused: " + claims.error().detail);
        return make_error(ProviderError::bad_id_token, claims.error().detail);
    }
    id.account_id = str(claims->get(), "sub");
    if (id.account_id.size() > 255) return make_error(ProviderError::bad_response, "sub too long");
    id.email = verified_email(claims->get(), config_.preset);
    if (id.email.empty() && !e->userinfo.empty()) {
        // Many providers put the e-mail, or whether it is verified, in
        // userinfo only (OIDC Core 5.4).
        auto info = get_json(e->userinfo, tokens.access_token, deadline);
        if (!info) return info.error();
        if (str(info->get(), "sub") != id.account_id)
            return make_error(ProviderError::bad_response,
                              "userinfo sub differs from the id token's");
        id.email = verified_email(info->get(), config_.preset);
    }
    if (id.email.empty()) return make_error(ProviderError::no_email);
    return id;
}

Providers::Providers(const Config& config)
    : http_(config.oauth.connect_timeout_ms, config.oauth.max_response_bytes) {
    for (const auto& p : config.oauth.providers)
        by_name_[p.name] = std::make_unique<Provider>(p, http_);
}

Provider* Providers::find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second.get();
}

void Providers::warm_up(long timeout_ms) {
    for (auto& [name, p] : by_name_) p->warm_up(timeout_ms);
}

}  // namespace fu::oauth
