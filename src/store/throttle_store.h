// ThrottleStore: table login_throttle, the failed-attempt counters that
// every fcgi-users on the database shares. Keys are opaque (the caller
// hashes what they count). A login costs one statement here besides its
// user lookup, which the throttle check rides on.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/user.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {

struct ThrottleKey {
    std::string key;  // empty: not counted
    long threshold = 0;
};

// The login lookup: the user of an address and how long its keys are refused.
struct LoginLookup {
    std::optional<User> user;
    long long generation = 0;      // the user's session generation
    std::string account_key;       // the account's counter (see lookup_login)
    long long wait_ms = 0;         // > 0: refused for this long
    bool account_counted = false;  // the account key has a row (a success clears it)
};

class ThrottleStore {
  public:
    explicit ThrottleStore(db::Connection& conn) : conn_(conn) {}

    // The user with e-mail `email` (case-insensitive), the key of the
    // account's counter (made from what the lookup found, see the .cpp) and
    // the longest wait of that key (when count_account) and `address`, in one
    // statement.
    Result<LoginLookup, db::DbError> lookup_login(std::string_view email, bool count_account,
                                                  std::string_view address);
    // How long `key` is refused (0: not).
    Result<long long, db::DbError> wait_ms(std::string_view key);
    // One more failure for each key, in one statement: a window starts at a
    // key's first failure and lasts window_seconds; from `threshold` failures
    // on, the key is refused for first_wait_seconds, doubled with each
    // further failure, never past the window's end.
    Result<Unit, db::DbError> record_failure(const std::vector<ThrottleKey>& keys,
                                             long window_seconds, long first_wait_seconds);
    Result<Unit, db::DbError> clear(std::string_view key);
    // One more for `key` within its window (it starts at the key's first
    // count and lasts window_seconds): this call's count, 1 for the first.
    // Concurrent calls each get their own, so a limit checked against it is
    // never passed.
    Result<long long, db::DbError> count(std::string_view key, long window_seconds);

  private:
    db::Connection& conn_;
};

}  // namespace fu
