// The callback rule and the associate rule (see oauth_manager.h).
#include "users/oauth_manager.h"

#include <sodium.h>

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

std::vector<HookEvent> OAuthManager::event(const char* name, const User& user) const {
    auto it = d_.config.hooks.commands.find(name);
    if (it == d_.config.hooks.commands.end() || it->second.empty()) return {};
    return {HookEvent{name, user.id, user.email, std::nullopt}};
}

void OAuthManager::wake(const std::vector<HookEvent>& events) const {
    if (!events.empty() && d_.wake_hooks) d_.wake_hooks(d_.wake_arg);
}

Result<OAuthLogin, OAuthError> OAuthManager::callback(const OAuthProviderConfig& provider,
                                                      const ProviderAccount& account) {
    auto known = accounts_.find(provider.name, account.account_id);
    if (!known) return make_error(from_store(known.error()));
    if (*known) {
        OAuthAccount update = row(provider, account, (*known)->user_id);
        update.id = (*known)->id;
        if (auto r = accounts_.update_tokens(update, {}); !r)
            return make_error(from_store(r.error()));
        auto user = users_.get(update.user_id);
        if (!user) return make_error(from_store(user.error()));
        if (!*user) return make_error(OAuthError::internal, "oauth_account row without its user");
        return OAuthLogin{**user, false};
    }

    auto same_email = users_.get_by_email(account.email);
    if (!same_email) return make_error(from_store(same_email.error()));
    if (*same_email) {
        if (!provider.associate_by_email) return make_error(OAuthError::user_already_exists);
        auto linked = accounts_.link(row(provider, account, (*same_email)->id), {});
        if (!linked) {
            // The same account linked by a concurrent callback is no error.
            if (linked.error().code != db::DbError::duplicate)
                return make_error(from_store(linked.error()));
        }
        return OAuthLogin{**same_email, false};
    }

    User user;
    user.id = sodium::uuid4();
    user.email = account.email;
    // FastAPI Users' rule: a random password nobody knows (a login with a
    // password stays impossible until a reset sets one).
    std::string random = sodium::random_token(32);
    user.hashed_password = d_.hasher.hash(random);
    sodium_memzero(random.data(), random.size());
    if (user.hashed_password.empty())
        return make_error(OAuthError::unavailable, "no memory to hash");
    user.is_verified = provider.is_verified_by_default;
    auto events = event("after_register", user);
    auto created = accounts_.create_user(user, row(provider, account, user.id), events);
    if (!created) {
        if (created.error().code == db::DbError::duplicate)
            return make_error(OAuthError::user_already_exists);
        return make_error(from_store(created.error()));
    }
    wake(events);
    return OAuthLogin{user, true};
}

Result<User, OAuthError> OAuthManager::associate(const OAuthProviderConfig& provider,
                                                 const ProviderAccount& account, const User& user) {
    auto known = accounts_.find(provider.name, account.account_id);
    if (!known) return make_error(from_store(known.error()));
    if (*known) {
        if ((*known)->user_id != user.id) return make_error(OAuthError::account_taken);
        OAuthAccount update = row(provider, account, user.id);
        update.id = (*known)->id;
        if (auto r = accounts_.update_tokens(update, {}); !r)
            return make_error(from_store(r.error()));
        return user;
    }
    auto linked = accounts_.link(row(provider, account, user.id), {});
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
