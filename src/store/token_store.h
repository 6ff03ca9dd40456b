// TokenStore: table accesstoken for the database strategy. Only the SHA-256
// of a token is stored (base64url, 43 characters), so a leaked table opens
// no session.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/user.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {

class TokenStore {
  public:
    explicit TokenStore(db::Connection& conn) : conn_(conn) {}

    // Writes the token of user `user_id` only while the user's session
    // generation is still `generation`, the one read when the user was
    // checked (before the password's hash): a session ending that committed
    // since (a password change or reset, a deactivation, logout-all) ends
    // this token too, as it ends an access JWT of that generation. false:
    // not written, for that reason or because the user is gone.
    Result<bool, db::DbError> create(std::string_view token_hash, std::string_view user_id,
                                     long long generation);
    // The user of a token created less than max_age_seconds ago, in one query.
    Result<std::optional<User>, db::DbError> find_user(std::string_view token_hash,
                                                       long max_age_seconds);
    // The same for up to SessionStore::kMaxBatch tokens in one statement:
    // (token hash, user) for each token found, in no particular order.
    Result<std::vector<std::pair<std::string, User>>, db::DbError> find_users(
        std::span<const std::string_view> token_hashes, long max_age_seconds);
    Result<Unit, db::DbError> remove(std::string_view token_hash);

  private:
    db::Connection& conn_;
};

}  // namespace fu
