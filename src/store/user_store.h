// UserStore: table `user` (and the hook events written with its changes).
// The only code besides token_store and hook_event_store that writes SQL.
// Not thread-safe: one per worker thread, over that thread's Connection.
//
// Writes are one operation per intent, never "write this row back": each is a
// single conditional UPDATE/INSERT/DELETE that touches only its own columns,
// so two requests that read the same user earlier cannot undo each other's
// change. Each returns the row as its own change left it (read in the same
// transaction) and records its hook events, built from that row, in the same
// transaction. Each has its own small error enum: only the outcomes it can have.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/hook_event.h"
#include "model/user.h"
#include "store/hook_event_store.h"
#include "store/session_store.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {
namespace db {
class Transaction;
}

using StoreError = db::DbError;
template <typename T>
using StoreResult = Result<T, StoreError>;

// Names of the hook events a change records (e.g. "after_update"); the store
// fills in the user's id and e-mail from the row as the change left it.
using EventNames = std::vector<std::string>;

enum class CreateError { email_taken, unavailable, failed };
// stale: no row matched the condition any more (the password changed since it
// was read, the user was deleted or, when required, deactivated).
enum class SetPasswordError { stale, unavailable, failed };
// stale: the user is gone or its address is no longer the one given.
enum class MarkVerifiedError { already_verified, stale, unavailable, failed };
enum class ProfileError { email_taken, not_found, session_ended, unavailable, failed };
enum class DeleteError { not_found, unavailable, failed };

// PATCH /users/me: only the fields present change.
struct ProfileChange {
    std::optional<std::string> email;  // unverifies unless only its letter case changes
    std::optional<std::string> hashed_password;
};

// PATCH /users/{id}: the profile and the three flags; an explicit is_verified
// wins over the unverifying of an e-mail change.
struct AdminChange {
    ProfileChange profile;
    std::optional<bool> is_active;
    std::optional<bool> is_superuser;
    std::optional<bool> is_verified;
};

class UserStore {
  public:
    // Hook events of a change are written through `hooks`, in its transaction.
    UserStore(db::Connection& conn, HookEventStore& hooks) : conn_(conn), hooks_(hooks) {}

    StoreResult<std::optional<User>> get(std::string_view id);
    // By the lower-cased address (email_key): letter case folds, nothing else.
    StoreResult<std::optional<User>> get_by_email(std::string_view email);

    // email_taken when the address is taken in any letter case. `also`, when
    // given, is a further write committed in the same transaction (an OAuth
    // account linked to the new user); a duplicate there is email_taken too.
    Result<User, CreateError> create(const User& user, const EventNames& events,
                                     const std::function<StoreResult<Unit>()>& also = {});
    // hashed_password := new_hash, only while it still is expected_hash (and,
    // with only_if_active, while the user is active).
    // With `end`, also ends the user's sessions but end's (session_store.h),
    // in the same transaction.
    Result<User, SetPasswordError> set_password(
        std::string_view id, std::string_view new_hash, std::string_view expected_hash,
        bool only_if_active, const EventNames& events,
        const std::optional<SessionKeep>& end = std::nullopt);
    // A login's rehash of the same password under newer parameters:
    // hashed_password := new_hash while it still is expected_hash. Not a
    // password change: it touches nothing else and records no event.
    Result<Unit, SetPasswordError> rehash_password(std::string_view id, std::string_view new_hash,
                                                   std::string_view expected_hash);
    // is_verified := true, only while the address is still `email` (in any
    // letter case) and the user is not verified yet.
    Result<User, MarkVerifiedError> mark_verified(std::string_view id, std::string_view email,
                                                  const EventNames& events);
    // With `end`, as set_password. `caller`: the session that asks (a user
    // changing itself): the change is made only while that session still
    // counts under the row's lock (session_counts), else session_ended and
    // nothing is written.
    Result<User, ProfileError> update_profile(std::string_view id, const ProfileChange& change,
                                              const EventNames& events,
                                              const std::optional<SessionKeep>& end = std::nullopt,
                                              const SessionKeep& caller = {});
    Result<User, ProfileError> admin_update(std::string_view id, const AdminChange& change,
                                            const EventNames& events,
                                            const std::optional<SessionKeep>& end = std::nullopt,
                                            const SessionKeep& caller = {});
    // `before` and `after` events both carry the row as it was.
    Result<User, DeleteError> remove(std::string_view id, const EventNames& events);
    // Records events on their own (forgot-password, request-verify, login).
    StoreResult<Unit> record(const std::vector<HookEvent>& events);

  private:
    StoreResult<std::optional<User>> select_one(std::string_view sql, std::string_view key);
    // Records `events` for `user` and commits: the end of every change.
    StoreResult<Unit> commit_with(db::Transaction& tx, const User& user, const EventNames& events);

    db::Connection& conn_;
    HookEventStore& hooks_;
};

}  // namespace fu
