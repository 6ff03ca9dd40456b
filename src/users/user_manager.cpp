// The account rules of fastapi-users' manager.py, and the hook events each
// change records.
#include "users/user_manager.h"

#include "http/body.h"
#include "store/throttle_store.h"
#include "util/ascii.h"
#include "util/log.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

constexpr const char* kResetAudience = "fastapi-users:reset";
constexpr const char* kVerifyAudience = "fastapi-users:verify";

// The store's failures that an operation does not decide itself.
template <typename E, typename S>
Error<E> server_error(const Error<S>& e) {
    return make_error(e.code == S::unavailable ? E::unavailable : E::internal, e.detail);
}

}  // namespace

std::optional<std::string> user_id_of(std::string_view text) {
    // uuid.UUID(): "urn:" then "uuid:" dropped wherever they are (one pass
    // each, as str.replace), braces stripped from both ends, hyphens dropped.
    std::string s(text);
    for (std::string_view word : {"urn:", "uuid:"}) {
        std::string kept;
        for (size_t from = 0;;) {
            size_t at = s.find(word, from);
            kept.append(s, from, at == std::string::npos ? std::string::npos : at - from);
            if (at == std::string::npos) break;
            from = at + word.size();
        }
        s = std::move(kept);
    }
    std::string_view t = s;
    while (!t.empty() && (t.front() == '{' || t.front() == '}')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == '{' || t.back() == '}')) t.remove_suffix(1);
    std::string hex;
    for (char ch : t)
        if (ch != '-') hex.push_back(ascii::lower(ch));
    if (hex.size() != 32 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
        return std::nullopt;
    for (size_t at : {20u, 16u, 12u, 8u}) hex.insert(at, 1, '-');
    return hex;
}

EventNames UserManager::event(const char* name) const {
    auto it = d_.config.hooks.commands.find(name);
    if (it == d_.config.hooks.commands.end() || it->second.empty()) return {};
    return {name};
}

std::vector<HookEvent> UserManager::event(const char* name, const User& user,
                                          std::optional<std::string> token) const {
    if (event(name).empty()) return {};
    return {HookEvent{name, user.id, user.email, std::move(token)}};
}

void UserManager::wake(size_t events) const {
    if (events > 0 && d_.wake_hooks) d_.wake_hooks(d_.wake_arg);
}

std::string UserManager::reset_fingerprint(const User& user) const {
    return sodium::hmac_sha256_base64url(d_.config.reset_secret.view(), user.hashed_password);
}

UserResult<Unit> UserManager::ping() {
    if (auto r = stores_.ping(); !r) return server_error<UserError>(r.error());
    return Unit{};
}

UserResult<HookEventStore::Counts> UserManager::hook_event_counts() {
    auto r = stores_.hook_events().counts();
    if (!r) return server_error<UserError>(r.error());
    return *r;
}

UserResult<User> UserManager::get(std::string_view id) {
    std::optional<std::string> canonical = user_id_of(id);
    if (!canonical) return make_error(UserError::not_exists);
    auto r = store_.get(*canonical);
    if (!r) return server_error<UserError>(r.error());
    if (!*r) return make_error(UserError::not_exists);
    return std::move(**r);
}

Result<User, CreateUserError> UserManager::create(
    std::string_view email, std::string_view password, bool superuser, bool verified,
    const std::function<StoreResult<Unit>(const User&)>& link) {
    const Config& c = d_.config;
    if (auto problem = http::email_problem(email))
        return make_error(CreateUserError::invalid_email, *problem);
    if (auto problem =
            password_problem(password, email, c.password_min_length, c.password_max_length))
        return make_error(CreateUserError::invalid_password, *problem);
    auto existing = store_.get_by_email(email);
    if (!existing) return server_error<CreateUserError>(existing.error());
    if (*existing) return make_error(CreateUserError::already_exists);
    User u;
    u.id = sodium::uuid4();
    u.email = std::string(email);
    u.hashed_password = d_.hasher.hash(password);
    if (u.hashed_password.empty())
        return make_error(CreateUserError::unavailable, "out of memory for hashing");
    u.is_superuser = superuser;
    u.is_verified = verified;
    // The unique index decides a race between two registrations.
    auto events = event("after_register");
    auto r = link ? store_.create(u, events, [&] { return link(u); }) : store_.create(u, events);
    if (!r && r.error().code == CreateError::email_taken)
        return make_error(CreateUserError::already_exists);
    if (!r) return server_error<CreateUserError>(r.error());
    wake(events.size());
    return std::move(*r);
}

UserResult<std::optional<User>> UserManager::authenticate(std::string_view email,
                                                          std::string_view password) {
    auto found = store_.get_by_email(email);
    if (!found) return server_error<UserError>(found.error());
    return check_password(std::move(*found), password);
}

UserResult<std::optional<User>> UserManager::check_password(std::optional<User> found,
                                                            std::string_view password) {
    if (!found) {
        // Hash anyway, so that an unknown address costs what a wrong password costs.
        d_.hasher.verify_dummy(password);
        return std::optional<User>{};
    }
    User user = std::move(*found);
    auto verdict = d_.hasher.verify(password, user.hashed_password);
    if (!verdict.ok) return std::optional<User>{};
    if (verdict.needs_rehash) {
        std::string fresh = d_.hasher.hash(password);
        if (!fresh.empty()) {
            // Only if nobody changed the password meanwhile (stale: keep theirs).
            auto r = store_.rehash_password(user.id, fresh, user.hashed_password);
            if (r)
                user.hashed_password = std::move(fresh);
            else if (r.error().code != SetPasswordError::stale)
                return server_error<UserError>(r.error());
        }
    }
    return std::optional<User>{std::move(user)};
}

UserResult<Unit> UserManager::on_after_login(const User& user) {
    return record(event("after_login", user));
}

UserResult<Unit> UserManager::on_after_refresh_reuse(const User& user) {
    return record(event("after_refresh_reuse", user));
}

UserResult<Unit> UserManager::record(const std::vector<HookEvent>& events) {
    if (events.empty()) return Unit{};
    auto r = store_.record(events);
    if (!r) return server_error<UserError>(r.error());
    wake(events.size());
    return Unit{};
}

// Anyone can ask for a user's reset or verify mail, as often as they like:
// past throttle.account_mails of one kind within the window the request is
// answered as always (202, before the address was even looked up) and
// records nothing, so nobody can bomb an inbox or pile up a user's hook
// backlog (which holds back that user's later hooks, delivered in order).
// It locks nobody out: the mails a flood did send reached the user, each
// with a token valid longer than the window. Each kind is counted apart (a
// flood of resets holds no verify mail back) under the key
// "mails:<event>:<user id>" of the throttle table; every request gets its
// own count, so a burst records exactly the limit, never more.
UserResult<Unit> UserManager::record_mail(const std::vector<HookEvent>& events, const User& user) {
    const SessionConfig& s = d_.config.sessions;
    if (events.empty() || s.throttle_account_mails <= 0) return record(events);
    const std::string key =
        sodium::sha256_base64url("mails:" + events.front().event + ":" + user.id);
    auto n = stores_.throttle().count(key, s.throttle_window);
    if (!n) return server_error<UserError>(n.error());
    if (*n > s.throttle_account_mails) {
        log::warn_limited("account mails", events.front().event + " for user " + user.id +
                                               ": throttle.account_mails reached, nothing sent");
        return Unit{};
    }
    return record(events);
}

UserResult<Unit> UserManager::forgot_password(std::string_view email) {
    auto found = store_.get_by_email(email);
    if (!found) return server_error<UserError>(found.error());
    if (!*found || !(*found)->is_active) return Unit{};  // no event, as FastAPI Users
    const User& user = **found;
    json::Doc claims(cJSON_CreateObject());
    cJSON_AddStringToObject(claims.get(), "sub", user.id.c_str());
    cJSON_AddStringToObject(claims.get(), "password_fgpt", reset_fingerprint(user).c_str());
    cJSON_AddStringToObject(claims.get(), "aud", kResetAudience);
    std::string token =
        d_.jwt.encode(d_.config.reset_secret, claims.get(), d_.config.reset_lifetime);
    return record_mail(event("after_forgot_password", user, std::move(token)), user);
}

Result<User, ResetError> UserManager::reset_password(std::string_view token,
                                                     std::string_view password) {
    auto bad = make_error(ResetError::bad_token);
    auto claims = d_.jwt.decode(token, d_.config.reset_secret, kResetAudience);
    if (!claims) return bad;
    std::string sub = claim_string(claims->get(), "sub");
    std::string fgpt = claim_string(claims->get(), "password_fgpt");
    if (fgpt.empty()) return bad;
    auto user = get(sub);
    if (!user) {
        if (user.error().code == UserError::not_exists) return bad;
        return server_error<ResetError>(user.error());
    }
    // A password change since the token was issued spends it.
    std::string current = reset_fingerprint(*user);
    if (current.size() != fgpt.size() ||
        sodium_memcmp(current.data(), fgpt.data(), fgpt.size()) != 0)
        return bad;
    if (!user->is_active) return bad;
    const Config& c = d_.config;
    if (auto problem =
            password_problem(password, user->email, c.password_min_length, c.password_max_length))
        return make_error(ResetError::invalid_password, *problem);
    std::string fresh = d_.hasher.hash(password);
    if (fresh.empty()) return make_error(ResetError::unavailable);
    // Written only over the hash the token was checked against, and only for
    // an active user: a concurrent reset with the same token, a password
    // change or a deactivation during the hash makes this one fail.
    auto events = event("after_reset_password");
    auto r =
        store_.set_password(user->id, fresh, user->hashed_password, true, events, SessionKeep{});
    if (!r && r.error().code == SetPasswordError::stale) return bad;
    if (!r) return server_error<ResetError>(r.error());
    wake(events.size());
    return std::move(*r);
}

UserResult<Unit> UserManager::request_verify(std::string_view email) {
    auto found = store_.get_by_email(email);
    if (!found) return server_error<UserError>(found.error());
    if (!*found || !(*found)->is_active || (*found)->is_verified) return Unit{};
    const User& user = **found;
    json::Doc claims(cJSON_CreateObject());
    cJSON_AddStringToObject(claims.get(), "sub", user.id.c_str());
    cJSON_AddStringToObject(claims.get(), "email", user.email.c_str());
    cJSON_AddStringToObject(claims.get(), "aud", kVerifyAudience);
    std::string token =
        d_.jwt.encode(d_.config.verify_secret, claims.get(), d_.config.verify_lifetime);
    return record_mail(event("after_request_verify", user, std::move(token)), user);
}

Result<User, VerifyError> UserManager::verify(std::string_view token) {
    auto claims = d_.jwt.decode(token, d_.config.verify_secret, kVerifyAudience);
    if (!claims) return make_error(VerifyError::bad_token);
    std::string sub = claim_string(claims->get(), "sub");
    std::string email = claim_string(claims->get(), "email");
    if (sub.empty() || email.empty()) return make_error(VerifyError::bad_token);
    // One statement: verified only while the address is still the token's
    // (an e-mail change spends the token) and touching nothing else.
    auto events = event("after_verify");
    auto r = store_.mark_verified(sub, email, events);
    if (r) {
        wake(events.size());
        return std::move(*r);
    }
    switch (r.error().code) {
        case MarkVerifiedError::already_verified:
            return make_error(VerifyError::already_verified);
        case MarkVerifiedError::stale:
            return make_error(VerifyError::bad_token);
        case MarkVerifiedError::unavailable:
        case MarkVerifiedError::failed:
            return server_error<VerifyError>(r.error());
    }
    return make_error(VerifyError::internal);
}

Result<User, UpdateError> UserManager::update(const User& user, const UserUpdate& change, bool safe,
                                              const SessionKeep& keep) {
    const Config& c = d_.config;
    AdminChange next;
    // As FastAPI Users (BaseUserUpdate declares password before email): an
    // invalid password is answered before an address already taken.
    std::string email = change.email ? *change.email : user.email;
    if (change.password)
        if (auto problem = password_problem(*change.password, email, c.password_min_length,
                                            c.password_max_length))
            return make_error(UpdateError::invalid_password, *problem);
    if (change.email) {
        // Written even when it is the address read with the user: another
        // request may have changed it since. Taken by another user: answered
        // before hashing; the unique index still decides a race.
        if (*change.email != user.email) {
            auto other = store_.get_by_email(*change.email);
            if (!other) return server_error<UpdateError>(other.error());
            if (*other && (*other)->id != user.id) return make_error(UpdateError::email_taken);
        }
        next.profile.email = *change.email;
    }
    if (change.password) {
        next.profile.hashed_password = d_.hasher.hash(*change.password);
        if (next.profile.hashed_password->empty()) return make_error(UpdateError::unavailable);
    }
    auto events = event("after_update");
    // A new password or a deactivation ends the sessions, in the same
    // transaction. A new password keeps the caller's own (when it changes
    // itself); a deactivation keeps none, not even the session of a
    // superuser deactivating itself, so reactivating revives nothing.
    std::optional<SessionKeep> end;
    if (!safe && change.is_active && !*change.is_active)
        end = SessionKeep{};
    else if (change.password)
        end = keep;
    // Made only while the caller's own session (keep's, when the user changes
    // itself) still counts: read under the row's lock, in the same transaction.
    auto r = safe ? store_.update_profile(user.id, next.profile, events, end, keep)
                  : store_.admin_update(user.id,
                                        AdminChange{next.profile, change.is_active,
                                                    change.is_superuser, change.is_verified},
                                        events, end, keep);
    if (r) {
        wake(events.size());
        return std::move(*r);
    }
    switch (r.error().code) {
        case ProfileError::email_taken:
            return make_error(UpdateError::email_taken);
        case ProfileError::not_found:
            return make_error(UpdateError::not_exists);
        case ProfileError::session_ended:
            return make_error(UpdateError::session_ended);
        case ProfileError::unavailable:
        case ProfileError::failed:
            return server_error<UpdateError>(r.error());
    }
    return make_error(UpdateError::internal);
}

UserResult<Unit> UserManager::remove(const User& user) {
    auto events = event("before_delete");
    auto after = event("after_delete");
    events.insert(events.end(), after.begin(), after.end());
    auto r = store_.remove(user.id, events);
    if (!r && r.error().code == DeleteError::not_found) return make_error(UserError::not_exists);
    if (!r) return server_error<UserError>(r.error());
    wake(events.size());
    return Unit{};
}

Result<User, SetPasswordOutcome> UserManager::set_password(const User& user,
                                                           std::string_view password) {
    std::string fresh = d_.hasher.hash(password);
    if (fresh.empty()) return make_error(SetPasswordOutcome::unavailable);
    auto r = store_.set_password(user.id, fresh, user.hashed_password, false, {}, SessionKeep{});
    if (!r && r.error().code == SetPasswordError::stale)
        return make_error(SetPasswordOutcome::stale);
    if (!r) return server_error<SetPasswordOutcome>(r.error());
    return std::move(*r);
}

}  // namespace fu
