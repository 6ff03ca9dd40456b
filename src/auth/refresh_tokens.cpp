// Issuing, rotating and revoking refresh tokens (see refresh_tokens.h).
#include "auth/refresh_tokens.h"

#include <ctime>

#include "wrap/sodium.h"

namespace fu {
namespace {

constexpr size_t kRefreshBytes = 32;  // 256 bits, 43 base64url characters

RefreshError from_db(const Error<db::DbError>& e) {
    return e.code == db::DbError::unavailable ? RefreshError::unavailable : RefreshError::invalid;
}

}  // namespace

Result<std::string, AuthError> RefreshTokens::issue(const User& user, std::string_view family,
                                                    long long generation) {
    std::string token = sodium::random_token(kRefreshBytes);
    auto r = store_.create(sodium::sha256_base64url(token), family, user.id, generation,
                           config_.sessions.refresh_lifetime);
    if (!r) return make_error(AuthError::unavailable);
    return token;
}

Result<Unit, RefreshError> RefreshTokens::revoke_family(const std::string& family,
                                                        std::string_view user_id) {
    if (auto r = store_.revoke_family(family); !r) return make_error(from_db(r.error()));
    // The access tokens of the family carry its id as sid; the last of them
    // expires within one lifetime from now.
    long long until = static_cast<long long>(std::time(nullptr)) + config_.access_token_lifetime;
    const RevokedId ids[] = {{family, until}};
    if (auto r = sessions_.revoke(user_id, ids); !r) return make_error(from_db(r.error()));
    return Unit{};
}

Result<TokenPair, RefreshError> RefreshTokens::refresh(const BackendConfig& backend,
                                                       std::string_view token,
                                                       std::optional<User>& owner) {
    auto invalid = make_error(RefreshError::invalid);
    if (token.size() != 43) return invalid;
    const std::string hash = sodium::sha256_base64url(token);
    auto found = store_.find(hash);
    if (!found) return make_error(from_db(found.error()));
    if (!*found) return invalid;
    const RefreshRow& row = **found;
    if (row.revoked || row.expired) return invalid;
    auto reuse = [&]() -> Result<TokenPair, RefreshError> {
        owner = row.user;
        if (auto r = revoke_family(row.family, row.user.id); !r) return r.error();
        return make_error(RefreshError::reused);
    };
    if (row.spent) return reuse();
    if (!row.user.is_active) return invalid;
    // Ended sessions end their refresh tokens too, but the kept one's.
    bool alive =
        row.generation >= row.user_generation || (row.user_kept && *row.user_kept == row.family);
    if (!alive) return invalid;
    TokenPair pair;
    pair.refresh_token = sodium::random_token(kRefreshBytes);
    auto spent = store_.rotate(hash, sodium::sha256_base64url(pair.refresh_token), row.family,
                               row.user.id, row.user_generation, config_.sessions.refresh_lifetime);
    if (!spent) return make_error(from_db(spent.error()));
    if (*spent == SpendOutcome::already_spent) return reuse();  // a concurrent use won
    auto access = auth_.write_token(backend, row.user, NewSession{row.family, row.user_generation});
    if (!access) {
        return make_error(access.error().code == AuthError::unavailable ? RefreshError::unavailable
                                                                        : RefreshError::invalid);
    }
    pair.access_token = std::move(*access);
    return pair;
}

}  // namespace fu
