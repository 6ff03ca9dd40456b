// Authenticator: who is making a request, as FastAPI Users' Authenticator
// decides it. Each configured backend pairs a transport (where the token
// travels: bearer header or cookie) with a strategy (what it is: a JWT or a
// database token); backends are tried in order and the first that yields a
// user wins. One per worker thread.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "http/request.h"
#include "store/token_store.h"
#include "users/tokens.h"
#include "users/user_manager.h"

namespace fu {

enum class AuthError {
    unauthorized,  // no credential, a bad one, or an inactive user: 401
    forbidden,     // lacks what the route needs: 403
    unavailable,   // database gone: 503
};

struct Requirements {
    bool active = true;
    bool verified = false;
    bool superuser = false;
};

struct Authenticated {
    User user;
    const BackendConfig* backend = nullptr;
    std::string token;
};

class Authenticator {
public:
    Authenticator(const Config& config, const JwtCodec& jwt, UserManager& users, TokenStore& tokens)
        : config_(config), jwt_(jwt), users_(users), tokens_(tokens) {}

    // The user of any backend's credential, checked against `req`uirements.
    Result<Authenticated, AuthError> current_user(const http::Request& req, Requirements need);
    // As current_user, but only `backend`'s credential counts (logout).
    Result<Authenticated, AuthError> current_user(const http::Request& req, const BackendConfig& backend,
                                                  Requirements need);

    // Strategy: a new token for `user` (write_token) and its revocation
    // (destroy_token: a no-op for JWTs, which live until they expire).
    Result<std::string, AuthError> write_token(const BackendConfig& backend, const User& user);
    Result<Unit, AuthError> destroy_token(const BackendConfig& backend, const std::string& token);

private:
    // Transport: the token `backend` would carry in `req`, if any.
    std::optional<std::string> read_transport(const http::Request& req, const BackendConfig& backend) const;
    // Strategy: the user a token names, nullopt when it names none.
    Result<std::optional<User>, AuthError> read_token(const BackendConfig& backend, const std::string& token);
    Result<Authenticated, AuthError> check(std::optional<Authenticated> found, Requirements need) const;

    const Config& config_;
    const JwtCodec& jwt_;
    UserManager& users_;
    TokenStore& tokens_;
};

}  // namespace fu
