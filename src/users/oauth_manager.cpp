// The callback rule and the associate rule (see oauth_manager.h).
#include "users/oauth_manager.h"

#include <sodium.h>

#include <algorithm>

#include "wrap/sodium.h"

namespace fu {
namespace {

OAuthError from_store(const Error<db::DbError>& e) {
    return e.code == db::DbError::unavailable ? OAuthError::unavailable : OAuthError::internal;
}

}  // namespace

OAuthAccount OAuthManager::row(const OAuthProviderConfig& provider, const ProviderAccount& account,
                               const std::string& user_id) const {
    OAuthAccount a;
    a.id = sodium::uuid4();
    a.oauth_name = provider.name;
    a.access_token = account.sealed_access_token;
    if (!account.sealed_refresh_token.empty()) a.refresh_token = account.sealed_refresh_token;
    a.expires_at = account.expires_at;
    a.account_id = account.account_id;
    a.account_email = account.email;
    a.user_id = user_id;
    return a;
}

Result<std::optional<OAuthLogin>, OAuthError> OAuthManager::existing(
    const OAuthProviderConfig& provider, const ProviderAccount& account) {
    auto known = accounts_.find(provider.name, account.account_id);
    if (!known) return make_error(from_store(known.error()));
    if (*known) {
        OAuthAccount update = row(provider, account, (*known)->user_id);
        update.id = (*known)->id;
        if (auto r = accounts_.update_tokens(update); !r) return make_error(from_store(r.error()));
        auto user = users_.get(update.user_id);
        if (!user) return make_error(from_store(user.error()));
        if (!*user) return make_error(OAuthError::internal, "oauth_account row without its user");
        return std::optional<OAuthLogin>(OAuthLogin{**user, false});
    }

    // The store's lookup by e-mail (email_key): a provider's letter case does not matter.
    auto same_email = users_.get_by_email(account.email);
    if (!same_email) return make_error(from_store(same_email.error()));
    if (!*same_email) return std::optional<OAuthLogin>();
    if (!provider.associate_by_email) return make_error(OAuthError::user_already_exists);
    auto linked = accounts_.link(row(provider, account, (*same_email)->id));
    // The same account linked by a concurrent callback is no error.
    if (!linked && linked.error().code != db::DbError::duplicate)
        return make_error(from_store(linked.error()));
    return std::optional<OAuthLogin>(OAuthLogin{**same_email, false});
}

Result<OAuthLogin, OAuthError> OAuthManager::callback(const OAuthProviderConfig& provider,
                                                      const ProviderAccount& account) {
    auto before = existing(provider, account);
    if (!before) return before.error();
    if (*before) return std::move(**before);

    // FastAPI Users' rule: a random password nobody knows (a login with a
    // password stays impossible until a reset sets one), within the policy.
    size_t length = static_cast<size_t>(
        std::clamp(43L, config_.password_min_length, config_.password_max_length));
    std::string random = sodium::random_token(length);
    random.resize(length);
    auto created = manager_.create(
        account.email, random, false, provider.is_verified_by_default,
        [&](const User& user) { return accounts_.link(row(provider, account, user.id)); });
    sodium_memzero(random.data(), random.size());
    if (created) return OAuthLogin{std::move(*created), true};
    switch (created.error().code) {
        case CreateUserError::already_exists: {
            // A concurrent callback (or registration) created the user or linked
            // the account meanwhile: decided as if it had been there before.
            auto now = existing(provider, account);
            if (!now) return now.error();
            if (!*now) return make_error(OAuthError::internal, "the taken row is gone");
            return std::move(**now);
        }
        case CreateUserError::invalid_email:
            return make_error(OAuthError::invalid_email, created.error().detail);
        case CreateUserError::invalid_password:
            return make_error(OAuthError::internal, "password policy refuses a random password");
        case CreateUserError::unavailable:
            return make_error(OAuthError::unavailable);
        case CreateUserError::internal:
            return make_error(OAuthError::internal);
    }
    return make_error(OAuthError::internal);
}

Result<User, OAuthError> OAuthManager::associate(const OAuthProviderConfig& provider,
                                                 const ProviderAccount& account, const User& user) {
    auto known = accounts_.find(provider.name, account.account_id);
    if (!known) return make_error(from_store(known.error()));
    if (*known) {
        if ((*known)->user_id != user.id) return make_error(OAuthError::account_taken);
        OAuthAccount update = row(provider, account, user.id);
        update.id = (*known)->id;
        if (auto r = accounts_.update_tokens(update); !r) return make_error(from_store(r.error()));
        return user;
    }
    auto linked = accounts_.link(row(provider, account, user.id));
    if (!linked) {
        if (linked.error().code == db::DbError::duplicate)
            return make_error(OAuthError::account_taken);
        return make_error(from_store(linked.error()));
    }
    return user;
}

Result<std::vector<OAuthAccount>, OAuthError> OAuthManager::accounts(const std::string& user_id) {
    auto list = accounts_.list_for_user(user_id);
    if (!list) return make_error(from_store(list.error()));
    return std::move(*list);
}

}  // namespace fu
