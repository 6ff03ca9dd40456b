// SQL of table user: one conditional statement per change, committed together
// with its hook events inside one db::Transaction.
#include "store/user_store.h"

#include "store/hook_event_store.h"
#include "store/user_row.h"
#include "wrap/mariadb.h"

namespace fu {
namespace {

constexpr const char* kColumns = "id, email, hashed_password, is_active, is_superuser, is_verified";

// Every store failure outside the operation's own outcomes.
template <typename E>
Error<E> db_failure(const Error<StoreError>& e) {
    return make_error(e.code == StoreError::unavailable ? E::unavailable : E::failed, e.detail);
}

}  // namespace

StoreResult<std::optional<User>> UserStore::select_one(std::string_view sql, std::string_view key) {
    auto r = conn_.exec(sql, {key});
    if (!r) return r.error();
    return to_user(*r);
}

StoreResult<std::optional<User>> UserStore::get(std::string_view id) {
    return select_one(std::string("SELECT ") + kColumns + " FROM user WHERE id = ?", id);
}

StoreResult<std::optional<User>> UserStore::get_by_email(std::string_view email) {
    return select_one(
        std::string("SELECT ") + kColumns + " FROM user WHERE email_key = " FU_EMAIL_KEY, email);
}

StoreResult<Unit> UserStore::commit_with(db::Transaction& tx, const User& user,
                                         const EventNames& events) {
    for (const auto& name : events)
        if (auto r = hooks_.insert(HookEvent{name, user.id, user.email, std::nullopt}); !r)
            return r.error();
    return tx.commit();
}

Result<User, CreateError> UserStore::create(const User& u, const EventNames& events,
                                            const std::function<StoreResult<Unit>()>& also) {
    return conn_.transaction([&](db::Begun& tx) -> Result<User, CreateError> {
        if (!tx) return db_failure<CreateError>(tx.error());
        auto r = conn_.exec(
            "INSERT INTO user (id, email, hashed_password, is_active, is_superuser, "
            "is_verified) VALUES (?, ?, ?, ?, ?, ?)",
            {u.id, u.email, u.hashed_password, static_cast<long long>(u.is_active),
             static_cast<long long>(u.is_superuser), static_cast<long long>(u.is_verified)});
        if (!r && r.error().code == StoreError::duplicate)
            return make_error(CreateError::email_taken);
        if (!r) return db_failure<CreateError>(r.error());
        if (also) {
            auto a = also();
            if (!a && a.error().code == StoreError::duplicate)
                return make_error(CreateError::email_taken);
            if (!a) return db_failure<CreateError>(a.error());
        }
        if (auto c = commit_with(*tx, u, events); !c) return db_failure<CreateError>(c.error());
        return u;
    });
}

Result<User, SetPasswordError> UserStore::set_password(
    std::string_view id, std::string_view new_hash, std::string_view expected_hash,
    bool only_if_active, const EventNames& events, const std::optional<SessionKeep>& end) {
    return conn_.transaction([&](db::Begun& tx) -> Result<User, SetPasswordError> {
        if (!tx) return db_failure<SetPasswordError>(tx.error());
        auto r =
            only_if_active
                ? conn_.exec(
                      "UPDATE user SET hashed_password = ? "
                      "WHERE id = ? AND hashed_password = ? AND is_active",
                      {new_hash, id, expected_hash})
                : conn_.exec(
                      "UPDATE user SET hashed_password = ? WHERE id = ? AND hashed_password = ?",
                      {new_hash, id, expected_hash});
        if (!r) return db_failure<SetPasswordError>(r.error());
        // A new hash always differs from the old one (fresh salt): no match, no row changed.
        if (r->affected != 1) return make_error(SetPasswordError::stale);
        if (end)
            if (auto e = end_sessions(conn_, id, *end); !e)
                return db_failure<SetPasswordError>(e.error());
        auto after = get(id);
        if (!after) return db_failure<SetPasswordError>(after.error());
        if (!*after) return make_error(SetPasswordError::stale);
        if (auto c = commit_with(*tx, **after, events); !c)
            return db_failure<SetPasswordError>(c.error());
        return std::move(**after);
    });
}

Result<Unit, SetPasswordError> UserStore::rehash_password(std::string_view id,
                                                          std::string_view new_hash,
                                                          std::string_view expected_hash) {
    auto r = conn_.exec("UPDATE user SET hashed_password = ? WHERE id = ? AND hashed_password = ?",
                        {new_hash, id, expected_hash});
    if (!r) return db_failure<SetPasswordError>(r.error());
    if (r->affected != 1) return make_error(SetPasswordError::stale);
    return Unit{};
}

Result<User, MarkVerifiedError> UserStore::mark_verified(std::string_view id,
                                                         std::string_view email,
                                                         const EventNames& events) {
    return conn_.transaction([&](db::Begun& tx) -> Result<User, MarkVerifiedError> {
        if (!tx) return db_failure<MarkVerifiedError>(tx.error());
        auto r = conn_.exec(
            "UPDATE user SET is_verified = TRUE "
            "WHERE id = ? AND email_key = " FU_EMAIL_KEY " AND NOT is_verified",
            {id, email});
        if (!r) return db_failure<MarkVerifiedError>(r.error());
        auto after = get(id);
        if (!after) return db_failure<MarkVerifiedError>(after.error());
        if (r->affected != 1) {
            // Why nothing changed, for the answer: the same user at the same
            // address already verified, or the token no longer names this row.
            auto same = get_by_email(email);
            if (!same) return db_failure<MarkVerifiedError>(same.error());
            if (*same && (*same)->id == id && (*same)->is_verified)
                return make_error(MarkVerifiedError::already_verified);
            return make_error(MarkVerifiedError::stale);
        }
        if (!*after) return make_error(MarkVerifiedError::stale);
        if (auto c = commit_with(*tx, **after, events); !c)
            return db_failure<MarkVerifiedError>(c.error());
        return std::move(**after);
    });
}

Result<User, ProfileError> UserStore::update_profile(std::string_view id,
                                                     const ProfileChange& change,
                                                     const EventNames& events,
                                                     const std::optional<SessionKeep>& end,
                                                     const SessionKeep& caller) {
    return admin_update(id, AdminChange{change, std::nullopt, std::nullopt, std::nullopt}, events,
                        end, caller);
}

Result<User, ProfileError> UserStore::admin_update(std::string_view id, const AdminChange& change,
                                                   const EventNames& events,
                                                   const std::optional<SessionKeep>& end,
                                                   const SessionKeep& caller) {
    // The statement names only the columns the request changes. Its text is
    // made of constant pieces (one cached prepared statement per shape), and
    // is_verified is assigned before email: MariaDB evaluates SET left to
    // right, and the unverifying compares the new address with the old one.
    std::string sql = "UPDATE user SET id = id";
    std::vector<db::Param> params;
    const ProfileChange& p = change.profile;
    if (change.is_verified) {
        sql += ", is_verified = ?";
        params.emplace_back(static_cast<long long>(*change.is_verified));
    } else if (p.email) {
        sql += ", is_verified = IF(email_key = " FU_EMAIL_KEY ", is_verified, FALSE)";
        params.emplace_back(std::string_view(*p.email));
    }
    if (p.email) {
        sql += ", email = ?";
        params.emplace_back(std::string_view(*p.email));
    }
    if (p.hashed_password) {
        sql += ", hashed_password = ?";
        params.emplace_back(std::string_view(*p.hashed_password));
    }
    if (change.is_active) {
        sql += ", is_active = ?";
        params.emplace_back(static_cast<long long>(*change.is_active));
    }
    if (change.is_superuser) {
        sql += ", is_superuser = ?";
        params.emplace_back(static_cast<long long>(*change.is_superuser));
    }
    sql += " WHERE id = ?";
    params.emplace_back(id);

    return conn_.transaction([&](db::Begun& tx) -> Result<User, ProfileError> {
        if (!tx) return db_failure<ProfileError>(tx.error());
        // First, under the row's lock: a session ended after the request was
        // authenticated (a password reset racing a PATCH) changes nothing.
        auto counts = session_counts(conn_, id, caller);
        if (!counts) return db_failure<ProfileError>(counts.error());
        if (!*counts) return make_error(ProfileError::session_ended);
        auto r = conn_.exec(sql, params);
        if (!r && r.error().code == StoreError::duplicate)
            return make_error(ProfileError::email_taken);
        if (!r) return db_failure<ProfileError>(r.error());
        if (end)
            if (auto e = end_sessions(conn_, id, *end); !e)
                return db_failure<ProfileError>(e.error());
        // affected counts changed rows only: an unchanged row is no failure.
        auto after = get(id);
        if (!after) return db_failure<ProfileError>(after.error());
        if (!*after) return make_error(ProfileError::not_found);
        if (auto c = commit_with(*tx, **after, events); !c)
            return db_failure<ProfileError>(c.error());
        return std::move(**after);
    });
}

Result<User, DeleteError> UserStore::remove(std::string_view id, const EventNames& events) {
    return conn_.transaction([&](db::Begun& tx) -> Result<User, DeleteError> {
        if (!tx) return db_failure<DeleteError>(tx.error());
        // Locks the row, so the events carry what was deleted.
        auto before = select_one(
            std::string("SELECT ") + kColumns + " FROM user WHERE id = ? FOR UPDATE", id);
        if (!before) return db_failure<DeleteError>(before.error());
        if (!*before) return make_error(DeleteError::not_found);
        auto r = conn_.exec("DELETE FROM user WHERE id = ?", {id});
        if (!r) return db_failure<DeleteError>(r.error());
        if (r->affected != 1) return make_error(DeleteError::not_found);
        if (auto c = commit_with(*tx, **before, events); !c)
            return db_failure<DeleteError>(c.error());
        return std::move(**before);
    });
}

StoreResult<Unit> UserStore::record(const std::vector<HookEvent>& events) {
    return conn_.transaction([&](db::Begun& tx) -> StoreResult<Unit> {
        if (!tx) return tx.error();
        for (const auto& ev : events)
            if (auto r = hooks_.insert(ev); !r) return r.error();
        return tx->commit();
    });
}

#undef FU_EMAIL_KEY

}  // namespace fu
