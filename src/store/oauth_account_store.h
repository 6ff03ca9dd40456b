// OAuthAccountStore: table oauth_account (FastAPI Users' columns), the
// provider accounts linked to users. Tokens arrive here already sealed
// (oauth/token_cipher.h); this store never sees them in clear. Each change is
// one statement and records no hook event (a user created through a provider
// is UserStore::create's, its account linked in that transaction by link()).
// One per worker thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/user.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {

struct OAuthAccount {
    std::string id;  // UUID v4
    std::string oauth_name;
    std::string access_token;  // sealed
    std::optional<long long> expires_at;
    std::optional<std::string> refresh_token;  // sealed
    std::string account_id;
    std::string account_email;
    std::string user_id;
};

class OAuthAccountStore {
  public:
    explicit OAuthAccountStore(db::Connection& conn) : conn_(conn) {}

    Result<std::optional<OAuthAccount>, db::DbError> find(std::string_view oauth_name,
                                                          std::string_view account_id);
    // The user's accounts, oldest link first; tokens left empty.
    Result<std::vector<OAuthAccount>, db::DbError> list_for_user(std::string_view user_id);
    // New tokens and e-mail for the row `account.id` (a known account logging in again).
    Result<Unit, db::DbError> update_tokens(const OAuthAccount& account);
    // Links `account` to its user. duplicate: that provider account is linked already.
    Result<Unit, db::DbError> link(const OAuthAccount& account);

  private:
    db::Connection& conn_;
};

}  // namespace fu
