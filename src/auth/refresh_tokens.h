// RefreshTokens: OAuth2 refresh tokens for a bearer JWT backend, with
// rotation and reuse detection as GoTrue does them. A login starts a family
// (its session id, the sid of its access tokens) with one opaque refresh
// token (256 random bits; only its SHA-256 is stored). Each use spends it and
// answers a new pair; presenting a spent one revokes the family and every
// access token of its session. One per worker thread.
#pragma once

#include <optional>
#include <string>

#include "auth/authenticator.h"
#include "config/config.h"
#include "store/refresh_token_store.h"
#include "store/session_store.h"

namespace fu {

enum class RefreshError {
    invalid,      // unknown, expired, revoked, or its user's sessions ended / user inactive: 401
    reused,       // already spent: the family is revoked now; 401
    unavailable,  // database gone: 503
};

struct TokenPair {
    std::string access_token;
    std::string refresh_token;
};

class RefreshTokens {
  public:
    RefreshTokens(const Config& config, Authenticator& auth, RefreshTokenStore& store,
                  SessionStore& sessions)
        : config_(config), auth_(auth), store_(store), sessions_(sessions) {}

    // A new refresh token of family `family` for `user`, whose session
    // generation is `generation`.
    Result<std::string, AuthError> issue(const User& user, std::string_view family,
                                         long long generation);
    // Trades `token` for a new pair on `backend`. On `reused`, `owner` is the
    // user whose family was revoked (for the hook and the log).
    Result<TokenPair, RefreshError> refresh(const BackendConfig& backend, std::string_view token,
                                            std::optional<User>& owner);

  private:
    // Revokes family `family` of user `user_id`: its refresh and access tokens.
    Result<Unit, RefreshError> revoke_family(const std::string& family, std::string_view user_id);

    const Config& config_;
    Authenticator& auth_;
    RefreshTokenStore& store_;
    SessionStore& sessions_;
};

}  // namespace fu
