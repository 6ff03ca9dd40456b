// UserManager: the rules of FastAPI Users' BaseUserManager (manager.py):
// create, authenticate, forgot/reset password, request-verify/verify, update,
// delete, and which hook events each records. Knows nothing of HTTP or SQL.
// One per worker thread (it uses that thread's stores).
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "config/config.h"
#include "store/user_store.h"
#include "users/password.h"
#include "users/tokens.h"
#include "model/user.h"
#include "model/hook_event.h"
#include "util/result.h"

namespace fu {

// fastapi_users/exceptions.py, one for one, plus the database's two failures.
enum class UserError {
    already_exists,
    not_exists,
    inactive,
    already_verified,
    invalid_verify_token,
    invalid_reset_password_token,
    invalid_password,  // detail: the policy's reason
    unavailable,       // database gone: 503
    internal,          // anything else: 500
};

template <typename T>
using UserResult = Result<T, UserError>;

// What PATCH may change; absent fields stay as they are.
struct UserUpdate {
    std::optional<std::string> email;
    std::optional<std::string> password;
    std::optional<bool> is_active;
    std::optional<bool> is_superuser;
    std::optional<bool> is_verified;
};

// Keeps the slower path's cost, so the faster one can be padded to it and
// response time does not tell whether an address has an account.
class TimingEqualizer {
public:
    void record(long long micros);
    long long typical() const { return typical_.load(std::memory_order_relaxed); }

private:
    std::atomic<long long> typical_{0};
};

struct UserManagerDeps {
    const Config& config;
    const PasswordHasher& hasher;
    const JwtCodec& jwt;
    TimingEqualizer& forgot_timing;
    TimingEqualizer& verify_timing;
    void (*wake_hooks)(void*) = nullptr;  // called after events were recorded
    void* wake_arg = nullptr;
};

class UserManager {
public:
    UserManager(const UserManagerDeps& deps, UserStore& store) : d_(deps), store_(store) {}

    UserResult<User> get(std::string_view id);
    // safe: the three flags come from `flags` only when false (the CLI).
    UserResult<User> create(std::string_view email, std::string_view password, bool superuser = false,
                            bool verified = false);
    // nullopt: bad credentials (unknown address, wrong password). An inactive
    // user is returned; the caller refuses it. Rehashes outdated hashes.
    UserResult<std::optional<User>> authenticate(std::string_view email, std::string_view password);
    // authenticate's second half, for a caller that looked the user up
    // itself (the login throttle's lookup): hashes even for no user.
    UserResult<std::optional<User>> check_password(std::optional<User> found, std::string_view password);
    UserResult<Unit> on_after_login(const User& user);
    UserResult<Unit> on_after_refresh_reuse(const User& user);
    UserResult<Unit> forgot_password(std::string_view email);
    UserResult<User> reset_password(std::string_view token, std::string_view password);
    UserResult<Unit> request_verify(std::string_view email);
    UserResult<User> verify(std::string_view token);
    // safe: email and password only (PATCH /users/me); otherwise the flags too.
    // A new password or a deactivation ends the user's sessions but `keep`'s
    // (the caller's own, when it changes itself), in the same transaction.
    UserResult<User> update(const User& user, const UserUpdate& change, bool safe, const SessionKeep& keep = {});
    UserResult<Unit> remove(const User& user);
    // Sets a new password without a policy check (the administrator's CLI).
    UserResult<User> set_password(const User& user, std::string_view password);

    std::string reset_fingerprint(const User& user) const;

private:
    std::vector<HookEvent> event(const char* name, const User& user,
                                 std::optional<std::string> token = std::nullopt) const;
    // Records events that no change carries (login, forgot, request-verify).
    UserResult<Unit> record(const std::vector<HookEvent>& events);
    UserError from_store(const Error<StoreError>& e) const;
    // Tells the hook dispatcher that `events` were just recorded.
    void wake(const std::vector<HookEvent>& events) const;

    const UserManagerDeps& d_;
    UserStore& store_;
};

}  // namespace fu
