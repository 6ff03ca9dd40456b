// SQL of table user; every change commits together with its hook events.
#include "store/user_store.h"

#include "store/hook_event_store.h"
#include "store/user_row.h"

#include "wrap/mariadb.h"

namespace fu {

StoreResult<std::optional<User>> UserStore::select_one(std::string_view sql, std::string_view key) {
    auto r = conn_.exec(sql, {key});
    if (!r) return r.error();
    return to_user(*r);
}

StoreResult<std::optional<User>> UserStore::get(std::string_view id) {
    return select_one("SELECT id, email, hashed_password, is_active, is_superuser, is_verified FROM user WHERE id = ?",
                      id);
}

StoreResult<std::optional<User>> UserStore::get_by_email(std::string_view email) {
    return select_one(
        "SELECT id, email, hashed_password, is_active, is_superuser, is_verified FROM user WHERE email = ?", email);
}

template <typename F>
StoreResult<Unit> UserStore::in_transaction(F&& change, const std::vector<HookEvent>& events) {
    if (auto b = conn_.begin(); !b) return b.error();
    auto fail = [this](const Error<StoreError>& e) -> StoreResult<Unit> {
        if (e.code != StoreError::unavailable) conn_.rollback();
        return e;
    };
    if (auto r = change(); !r) return fail(r.error());
    HookEventStore hooks(conn_);
    for (const auto& ev : events)
        if (auto r = hooks.insert(ev); !r) return fail(r.error());
    if (auto c = conn_.commit(); !c) return fail(c.error());
    return Unit{};
}

StoreResult<Unit> UserStore::create(const User& u, const std::vector<HookEvent>& events) {
    return in_transaction(
        [&]() -> StoreResult<Unit> {
            auto r = conn_.exec("INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                {u.id, u.email, u.hashed_password, static_cast<long long>(u.is_active),
                                 static_cast<long long>(u.is_superuser), static_cast<long long>(u.is_verified)});
            if (!r) return r.error();
            return Unit{};
        },
        events);
}

StoreResult<Unit> UserStore::update(const User& u, const std::vector<HookEvent>& events,
                                    const std::optional<SessionKeep>& end) {
    return in_transaction(
        [&]() -> StoreResult<Unit> {
            auto r = conn_.exec("UPDATE user SET email = ?, hashed_password = ?, is_active = ?, is_superuser = ?, "
                                "is_verified = ? WHERE id = ?",
                                {u.email, u.hashed_password, static_cast<long long>(u.is_active),
                                 static_cast<long long>(u.is_superuser), static_cast<long long>(u.is_verified), u.id});
            if (!r) return r.error();
            if (end) return end_sessions(conn_, u.id, *end);
            return Unit{};
        },
        events);
}

StoreResult<Unit> UserStore::update_hash_if(std::string_view id, std::string_view old_hash,
                                            std::string_view new_hash) {
    auto r = conn_.exec("UPDATE user SET hashed_password = ? WHERE id = ? AND hashed_password = ?",
                        {new_hash, id, old_hash});
    if (!r) return r.error();
    return Unit{};
}

StoreResult<Unit> UserStore::remove(std::string_view id, const std::vector<HookEvent>& events) {
    return in_transaction(
        [&]() -> StoreResult<Unit> {
            auto r = conn_.exec("DELETE FROM user WHERE id = ?", {id});
            if (!r) return r.error();
            return Unit{};
        },
        events);
}

StoreResult<Unit> UserStore::record(const std::vector<HookEvent>& events) {
    return in_transaction([]() -> StoreResult<Unit> { return Unit{}; }, events);
}

}  // namespace fu
