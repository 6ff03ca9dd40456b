// Transports (bearer header, cookie) and strategies (JWT, database token)
// behind the Authenticator; see authenticator.h for who wins and why.
#include "auth/authenticator.h"

#include <cctype>

#include "wrap/sodium.h"

namespace fu {
namespace {

constexpr const char* kAccessAudience = "fastapi-users:auth";
constexpr size_t kDatabaseTokenChars = 43;

AuthError from_user_error(UserError e) {
    return e == UserError::unavailable ? AuthError::unavailable : AuthError::unauthorized;
}

}  // namespace

std::optional<std::string> Authenticator::read_transport(const http::Request& req,
                                                         const BackendConfig& backend) const {
    if (backend.transport == Transport::cookie) {
        const std::string* c = req.cookie(config_.cookie.name);
        if (!c || c->empty()) return std::nullopt;
        return *c;
    }
    const std::string* h = req.header("authorization");
    if (!h) return std::nullopt;
    // "Bearer <token>", the scheme in any letter case (OAuth2PasswordBearer).
    size_t space = h->find(' ');
    if (space != 6) return std::nullopt;
    for (size_t i = 0; i < 6; ++i)
        if (std::tolower(static_cast<unsigned char>((*h)[i])) != "bearer"[i]) return std::nullopt;
    size_t start = h->find_first_not_of(' ', space);
    if (start == std::string::npos) return std::nullopt;
    std::string token = h->substr(start);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    return token;
}

Result<std::optional<User>, AuthError> Authenticator::read_token(const BackendConfig& backend,
                                                                 const std::string& token) {
    if (backend.strategy == Strategy::database) {
        if (token.size() != kDatabaseTokenChars) return std::optional<User>{};
        auto user = tokens_.find_user(sodium::sha256_base64url(token), config_.database_token_lifetime);
        if (!user) return make_error(user.error().code == db::DbError::unavailable ? AuthError::unavailable
                                                                                  : AuthError::unauthorized);
        return std::move(*user);
    }
    auto claims = jwt_.decode(token, config_.access_token_secret, kAccessAudience);
    if (!claims) return std::optional<User>{};
    // UserManager::get refuses a sub that is not a UUID (not_exists).
    auto user = users_.get(claim_string(claims->get(), "sub"));
    if (!user) {
        if (user.error().code == UserError::not_exists) return std::optional<User>{};
        return make_error(from_user_error(user.error().code));
    }
    return std::optional<User>{std::move(*user)};
}

Result<Authenticated, AuthError> Authenticator::check(std::optional<Authenticated> found, Requirements need) const {
    if (!found || (need.active && !found->user.is_active)) return make_error(AuthError::unauthorized);
    bool verified_needed = need.verified || found->backend->requires_verification;
    if ((verified_needed && !found->user.is_verified) || (need.superuser && !found->user.is_superuser))
        return make_error(AuthError::forbidden);
    return std::move(*found);
}

Result<Authenticated, AuthError> Authenticator::current_user(const http::Request& req, Requirements need) {
    for (const auto& backend : config_.backends) {
        auto token = read_transport(req, backend);
        if (!token) continue;
        auto user = read_token(backend, *token);
        if (!user) return user.error();
        if (*user) return check(Authenticated{std::move(**user), &backend, std::move(*token)}, need);
    }
    return check(std::nullopt, need);
}

Result<Authenticated, AuthError> Authenticator::current_user(const http::Request& req,
                                                             const BackendConfig& backend, Requirements need) {
    auto token = read_transport(req, backend);
    if (!token) return make_error(AuthError::unauthorized);
    auto user = read_token(backend, *token);
    if (!user) return user.error();
    if (!*user) return make_error(AuthError::unauthorized);
    return check(Authenticated{std::move(**user), &backend, std::move(*token)}, need);
}

Result<std::string, AuthError> Authenticator::write_token(const BackendConfig& backend, const User& user) {
    if (backend.strategy == Strategy::jwt) {
        json::Doc claims(cJSON_CreateObject());
        cJSON_AddStringToObject(claims.get(), "sub", user.id.c_str());
        cJSON* aud = cJSON_AddArrayToObject(claims.get(), "aud");
        cJSON_AddItemToArray(aud, cJSON_CreateString(kAccessAudience));
        return jwt_.encode(config_.access_token_secret, claims.get(), config_.access_token_lifetime);
    }
    std::string token = sodium::random_token(32);
    auto r = tokens_.create(sodium::sha256_base64url(token), user.id);
    if (!r) return make_error(AuthError::unavailable);
    return token;
}

Result<Unit, AuthError> Authenticator::destroy_token(const BackendConfig& backend, const std::string& token) {
    if (backend.strategy == Strategy::jwt) return Unit{};
    auto r = tokens_.remove(sodium::sha256_base64url(token));
    if (!r) return make_error(AuthError::unavailable);
    return Unit{};
}

}  // namespace fu
