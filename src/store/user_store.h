// UserStore: table `user` (and the hook events written with its changes).
// The only code besides token_store and hook_event_store that writes SQL.
// Not thread-safe: one per worker thread, over that thread's Connection.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/hook_event.h"
#include "model/user.h"
#include "store/session_store.h"
#include "util/result.h"
#include "wrap/db_error.h"

namespace fu {

using StoreError = db::DbError;
template <typename T>
using StoreResult = Result<T, StoreError>;

class UserStore {
public:
    explicit UserStore(db::Connection& conn) : conn_(conn) {}

    StoreResult<std::optional<User>> get(std::string_view id);
    // Case-insensitive, by the column's collation.
    StoreResult<std::optional<User>> get_by_email(std::string_view email);
    // duplicate when the address is taken in any letter case.
    StoreResult<Unit> create(const User& user, const std::vector<HookEvent>& events);
    // Writes every column of `user`; duplicate when its e-mail is taken.
    // With `end`, also ends the user's sessions but end's, in the same transaction.
    StoreResult<Unit> update(const User& user, const std::vector<HookEvent>& events,
                             const std::optional<SessionKeep>& end = std::nullopt);
    // Changes only the hash, and only if it is still `old_hash` (a rehash must
    // not undo a concurrent password change).
    StoreResult<Unit> update_hash_if(std::string_view id, std::string_view old_hash, std::string_view new_hash);
    StoreResult<Unit> remove(std::string_view id, const std::vector<HookEvent>& events);
    // Records events on their own (forgot-password, request-verify, login).
    StoreResult<Unit> record(const std::vector<HookEvent>& events);

private:
    StoreResult<std::optional<User>> select_one(std::string_view sql, std::string_view key);
    template <typename F>
    StoreResult<Unit> in_transaction(F&& change, const std::vector<HookEvent>& events);

    db::Connection& conn_;
};

}  // namespace fu
