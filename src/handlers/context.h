// Context: what a handler works with. Deps are shared by all threads and
// read-only; a Context belongs to one worker thread, whose UserManager,
// Authenticator, RefreshTokens, LoginThrottle and OAuthManager (over that
// thread's own connection) are the handlers' only way to the database. fcgi/ builds them
// (WorkerContext).
#pragma once

#include "auth/authenticator.h"
#include "auth/login_throttle.h"
#include "auth/refresh_tokens.h"
#include "config/config.h"
#include "http/router.h"
#include "users/oauth_manager.h"
#include "users/password.h"
#include "users/tokens.h"
#include "users/user_manager.h"

namespace fu {

class Metrics;
namespace oauth {
class Providers;
class TokenCipher;
}  // namespace oauth

struct Deps {
    const Config& config;
    const PasswordHasher& hasher;
    const JwtCodec& jwt;
    UserManagerDeps manager;
    Metrics* metrics = nullptr;             // null outside `serve`
    oauth::Providers* providers = nullptr;  // null or empty: no OAuth provider configured
    const oauth::TokenCipher* token_cipher = nullptr;  // set with providers
    ReadBatch* read_batch = nullptr;                   // null: config.read_batch is 0
};

struct Context {
    const Deps& deps;
    UserManager& manager;
    Authenticator& auth;
    RefreshTokens& refresh;
    LoginThrottle& throttle;
    OAuthManager& oauth;
};

// Every route, registered at start-up.
void register_routes(http::Router& router, const Config& config);

void register_meta_routes(http::Router& router, const Config& config);
void register_auth_routes(http::Router& router, const Config& config);
void register_register_routes(http::Router& router, const Config& config);
void register_reset_routes(http::Router& router, const Config& config);
void register_verify_routes(http::Router& router, const Config& config);
void register_users_routes(http::Router& router, const Config& config);
void register_check_routes(http::Router& router, const Config& config);
void register_oauth_routes(http::Router& router, const Config& config);

}  // namespace fu
