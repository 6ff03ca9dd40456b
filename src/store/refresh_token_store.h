// RefreshTokenStore: table refresh_token. Only the SHA-256 of a refresh
// token is stored. Tokens of one login form a family (its session id); each
// is spent by its one use, and presenting a spent one revokes the family.
#pragma once

#include <optional>
#include <string>

#include "model/user.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {

// A refresh token's row joined with its user's row and session state.
struct RefreshRow {
    std::string family;
    long long generation = 0;  // the user's session generation when it was issued
    bool spent = false;
    bool revoked = false;
    bool expired = false;
    User user;
    long long user_generation = 0;
    std::optional<std::string> user_kept;  // user.session_kept
};

enum class SpendOutcome { spent, already_spent };

class RefreshTokenStore {
  public:
    explicit RefreshTokenStore(db::Connection& conn) : conn_(conn) {}

    Result<Unit, db::DbError> create(std::string_view token_hash, std::string_view family,
                                     std::string_view user_id, long long generation,
                                     long lifetime_seconds);
    Result<std::optional<RefreshRow>, db::DbError> find(std::string_view token_hash);
    // Spends `token_hash` and records its successor in one transaction;
    // already_spent when a concurrent use spent it first (nothing recorded).
    Result<SpendOutcome, db::DbError> rotate(std::string_view token_hash,
                                             std::string_view next_hash, std::string_view family,
                                             std::string_view user_id, long long generation,
                                             long lifetime_seconds);
    // Marks every token of `family` revoked.
    Result<Unit, db::DbError> revoke_family(std::string_view family);

  private:
    db::Connection& conn_;
};

}  // namespace fu
