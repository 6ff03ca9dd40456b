// OAuthManager: FastAPI Users' oauth_callback and the associate rule, over
// the user and oauth_account stores. A known (provider, account id) gets its
// tokens updated and is its user; else a user with the same e-mail gets the
// account linked, only with associate_by_email; else a new user is created
// with an unusable random password and `after_register` recorded with it.
// Tokens arrive sealed (oauth/token_cipher.h, by the caller) and are stored
// as they are. Knows nothing of HTTP nor of the providers.
// One per worker thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/hook_event.h"
#include "model/user.h"
#include "store/oauth_account_store.h"
#include "store/user_store.h"
#include "users/password.h"
#include "users/user_manager.h"
#include "util/result.h"

namespace fu {

enum class OAuthError {
    user_already_exists,  // same e-mail, associate_by_email off: OAUTH_USER_ALREADY_EXISTS
    account_taken,        // associate: the provider account belongs to another user
    unavailable,          // database gone: 503
    internal,             // 500
};

// What the provider told about the user, and its tokens, sealed.
struct ProviderAccount {
    std::string account_id;
    std::string email;
    std::string sealed_access_token;
    std::string sealed_refresh_token;  // empty: none
    std::optional<long long> expires_at;
};

struct OAuthLogin {
    User user;
    bool created = false;
};

class OAuthManager {
  public:
    OAuthManager(const UserManagerDeps& deps, UserStore& users, OAuthAccountStore& accounts)
        : d_(deps), users_(users), accounts_(accounts) {}

    Result<OAuthLogin, OAuthError> callback(const OAuthProviderConfig& provider,
                                            const ProviderAccount& account);
    // Links the account to `user` (or refreshes its tokens when it is linked to them already).
    Result<User, OAuthError> associate(const OAuthProviderConfig& provider,
                                       const ProviderAccount& account, const User& user);
    // The accounts linked to a user, without tokens.
    Result<std::vector<OAuthAccount>, OAuthError> accounts(const std::string& user_id);

  private:
    OAuthAccount row(const OAuthProviderConfig& provider, const ProviderAccount& account,
                     const std::string& user_id) const;
    std::vector<HookEvent> event(const char* name, const User& user) const;
    void wake(const std::vector<HookEvent>& events) const;

    const UserManagerDeps& d_;
    UserStore& users_;
    OAuthAccountStore& accounts_;
};

}  // namespace fu
