// OAuthManager: FastAPI Users' oauth_callback and the associate rule, over
// the user and oauth_account stores. A known (provider, account id) gets its
// tokens updated and is its user; else a user with the same e-mail gets the
// account linked, only with associate_by_email; else a new user is created
// through UserManager::create (with an unusable random password, its
// `after_register` event) and the account linked in the same transaction.
// Tokens arrive sealed (oauth/token_cipher.h, by the caller) and are stored
// as they are. Knows nothing of HTTP nor of the providers.
// One per worker thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/user.h"
#include "store/oauth_account_store.h"
#include "store/user_store.h"
#include "users/user_manager.h"
#include "util/result.h"

namespace fu {

enum class OAuthError {
    user_already_exists,  // same e-mail, associate_by_email off: OAUTH_USER_ALREADY_EXISTS
    invalid_email,        // a new user's address that /auth/register would refuse (a space
                          // before it, a look-alike of another's): OAUTH_NOT_AVAILABLE_EMAIL
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
    // users: lookups only (by id, by e-mail through email_key); every user
    // change goes through `manager`.
    OAuthManager(const Config& config, UserManager& manager, UserStore& users,
                 OAuthAccountStore& accounts)
        : config_(config), manager_(manager), users_(users), accounts_(accounts) {}

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
    // The login of the account's user (its tokens refreshed), else of the
    // user with its e-mail (the associate rule); nullopt: neither exists.
    Result<std::optional<OAuthLogin>, OAuthError> existing(const OAuthProviderConfig& provider,
                                                           const ProviderAccount& account);

    const Config& config_;
    UserManager& manager_;
    UserStore& users_;
    OAuthAccountStore& accounts_;
};

}  // namespace fu
