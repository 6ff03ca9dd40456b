// UserManager: the rules of FastAPI Users' BaseUserManager (manager.py):
// create, authenticate, forgot/reset password, request-verify/verify, update,
// delete, and which hook events each records. Knows nothing of HTTP or SQL.
// One per worker thread (it uses that thread's stores).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config/config.h"
#include "model/hook_event.h"
#include "model/user.h"
#include "store/stores.h"
#include "store/user_store.h"
#include "users/password.h"
#include "users/tokens.h"
#include "util/result.h"

namespace fu {

// Each operation has its own small error enum (fastapi_users/exceptions.py,
// one for one, plus the database's two failures: unavailable is a 503,
// internal a 500). Each route group maps its enum to HTTP in one place.

// Lookups and events recorded on their own.
enum class UserError { not_exists, unavailable, internal };
// create (register, the CLI).
// create: invalid_email for an address POST /auth/register would refuse
// (every way in, the CLI and OAuth sign-ups too, meets the same rules).
enum class CreateUserError {
    already_exists,
    invalid_email,
    invalid_password,
    unavailable,
    internal
};
// reset_password: bad_token also when the password changed, or the user was
// deactivated or deleted, while the reset ran.
enum class ResetError { bad_token, invalid_password, unavailable, internal };
// verify: bad_token also when the address changed since the token was issued.
enum class VerifyError { bad_token, already_verified, unavailable, internal };
// update (PATCH /users/me, /users/{id}).
// session_ended: the caller's own session ended while the request ran (a
// password reset, a logout of every session, a deactivation): nothing written.
enum class UpdateError {
    email_taken,
    invalid_password,
    not_exists,
    session_ended,
    unavailable,
    internal
};
// set_password (the CLI): stale when the password changed while hashing.
enum class SetPasswordOutcome { stale, unavailable, internal };

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

// A user id as the /users/{id} routes take it, read as FastAPI Users' parse_id
// reads it (Python's uuid.UUID): 32 hex digits in either case, hyphens
// anywhere, in braces or after "urn:uuid:" allowed; the canonical form
// (lower case, 8-4-4-4-12), or nullopt for anything else.
std::optional<std::string> user_id_of(std::string_view text);

struct UserManagerDeps {
    const Config& config;
    const PasswordHasher& hasher;
    const JwtCodec& jwt;
    void (*wake_hooks)(void*) = nullptr;  // called after events were recorded
    void* wake_arg = nullptr;
};

class UserManager {
  public:
    UserManager(const UserManagerDeps& deps, Stores& stores)
        : d_(deps), stores_(stores), store_(stores.users()) {}

    UserResult<User> get(std::string_view id);
    // superuser/verified: the CLI only (and an OAuth provider's verified
    // address); registration creates neither. `link`, when given, writes in the
    // same transaction as the new user (its OAuth account); a duplicate there
    // is already_exists too.
    Result<User, CreateUserError> create(
        std::string_view email, std::string_view password, bool superuser = false,
        bool verified = false, const std::function<StoreResult<Unit>(const User&)>& link = {});
    // nullopt: bad credentials (unknown address, wrong password). An inactive
    // user is returned; the caller refuses it. Rehashes outdated hashes.
    UserResult<std::optional<User>> authenticate(std::string_view email, std::string_view password);
    // authenticate's second half, for a caller that looked the user up
    // itself (the login throttle's lookup): hashes even for no user.
    UserResult<std::optional<User>> check_password(std::optional<User> found,
                                                   std::string_view password);
    UserResult<Unit> on_after_login(const User& user);
    UserResult<Unit> on_after_refresh_reuse(const User& user);
    // Issues a reset token to an existing active user (hook event), nothing
    // otherwise. Callers answer before calling it: its time must not tell
    // whether the address has an account.
    UserResult<Unit> forgot_password(std::string_view email);
    // One token resets once: the new hash is written only while the hash the
    // token was issued for is still there and the user still active.
    Result<User, ResetError> reset_password(std::string_view token, std::string_view password);
    // As forgot_password, for verification tokens (and the same timing rule).
    UserResult<Unit> request_verify(std::string_view email);
    Result<User, VerifyError> verify(std::string_view token);
    // safe: email and password only (PATCH /users/me); otherwise the flags too.
    // Writes only the fields given, so concurrent changes of other fields stay.
    // A new password ends the user's sessions but `keep`'s (the caller's
    // own, when it changes itself), a deactivation every one, in the same
    // transaction.
    Result<User, UpdateError> update(const User& user, const UserUpdate& change, bool safe,
                                     const SessionKeep& keep = {});
    UserResult<Unit> remove(const User& user);
    // Sets a new password without a policy check (the administrator's CLI).
    Result<User, SetPasswordOutcome> set_password(const User& user, std::string_view password);
    // Whether the database answers now (GET /healthz).
    UserResult<Unit> ping();
    // Hook deliveries pending and failed for good (GET /metrics).
    UserResult<HookEventStore::Counts> hook_event_counts();

    std::string reset_fingerprint(const User& user) const;

  private:
    // `name` if a hook is configured for it, else nothing.
    EventNames event(const char* name) const;
    std::vector<HookEvent> event(const char* name, const User& user,
                                 std::optional<std::string> token = std::nullopt) const;
    // Records events that no change carries (login, forgot, request-verify).
    UserResult<Unit> record(const std::vector<HookEvent>& events);
    // Records a mail's event (forgot-password, request-verify-token) unless
    // the user has had throttle.account_mails of them within the window.
    UserResult<Unit> record_mail(const std::vector<HookEvent>& events, const User& user);
    // Tells the hook dispatcher that events were just recorded.
    void wake(size_t events) const;

    const UserManagerDeps& d_;
    Stores& stores_;
    UserStore& store_;
};

}  // namespace fu
