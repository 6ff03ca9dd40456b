// LoginThrottle: failed logins counted per account (the address as the user
// lookup reads it, lower-cased by MariaDB: every spelling that reaches an
// account counts against it; and alike for an address without an account,
// so the answer tells nothing) and per
// client address, and bad reset/verify tokens per address, in table
// login_throttle (ThrottleStore), shared by every fcgi-users on the database.
// Past a threshold, attempts are refused (429) before any hash is computed;
// the wait starts at a sixtieth of the window (at least one second), doubles
// with each further failure and never outlasts the window, so the real owner
// is never locked out for longer than the window. One per worker thread.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "http/request.h"
#include "store/throttle_store.h"

namespace fu {

class LoginThrottle {
  public:
    LoginThrottle(const Config& config, ThrottleStore& store) : config_(config), store_(store) {}

    // REMOTE_ADDR, or when that is a trusted proxy, the last address of
    // X-Forwarded-For that is not one.
    std::string client_address(const http::Request& req) const;

    struct Attempt {
        LoginLookup lookup;  // the user, and the wait (0: go on)
        ThrottleKey account;
        ThrottleKey address;
    };
    // The login's user lookup and throttle check, in one statement.
    Result<Attempt, db::DbError> begin(std::string_view email, std::string_view address);
    // Bad credentials (or an inactive user): one more failure for both keys.
    Result<Unit, db::DbError> failed(const Attempt& attempt);
    // Right password: clears the account's counter (not the address's).
    Result<Unit, db::DbError> succeeded(const Attempt& attempt);

    // Bad reset/verify tokens from `address`: how long they are refused (ms).
    Result<long long, db::DbError> token_wait(std::string_view address);
    Result<Unit, db::DbError> token_failed(std::string_view address);

    // Whole seconds for Retry-After, at least 1.
    static long retry_after_seconds(long long wait_ms) {
        return static_cast<long>((wait_ms + 999) / 1000);
    }

  private:
    long first_wait() const;

    const Config& config_;
    ThrottleStore& store_;
};

}  // namespace fu
