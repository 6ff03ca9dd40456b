// The account rules of fastapi-users' manager.py, and the hook events each
// change records.
#include "users/user_manager.h"

#include <chrono>
#include <thread>

#include "wrap/sodium.h"

namespace fu {
namespace {

constexpr const char* kResetAudience = "fastapi-users:reset";
constexpr const char* kVerifyAudience = "fastapi-users:verify";

long long now_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Pads the fast path of forgot-password / request-verify-token to the cost
// of the slow one, so that timing does not tell which addresses exist.
class Padded {
public:
    Padded(TimingEqualizer& eq, bool slow_path) : eq_(eq), slow_(slow_path), start_(now_micros()) {}
    void slow() { slow_ = true; }
    ~Padded() {
        long long spent = now_micros() - start_;
        if (slow_) {
            eq_.record(spent);
            return;
        }
        long long target = eq_.typical();
        if (target > spent) std::this_thread::sleep_for(std::chrono::microseconds(target - spent));
    }

private:
    TimingEqualizer& eq_;
    bool slow_;
    long long start_;
};

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace

void TimingEqualizer::record(long long micros) {
    // An exponential moving average; good enough to hide a few milliseconds.
    long long old = typical_.load(std::memory_order_relaxed);
    long long next = old == 0 ? micros : (old * 7 + micros) / 8;
    typical_.store(next, std::memory_order_relaxed);
}

std::vector<HookEvent> UserManager::event(const char* name, const User& user,
                                          std::optional<std::string> token) const {
    auto it = d_.config.hooks.commands.find(name);
    if (it == d_.config.hooks.commands.end() || it->second.empty()) return {};
    return {HookEvent{name, user.id, user.email, std::move(token)}};
}

void UserManager::wake(const std::vector<HookEvent>& events) const {
    if (!events.empty() && d_.wake_hooks) d_.wake_hooks(d_.wake_arg);
}

UserError UserManager::from_store(const Error<StoreError>& e) const {
    switch (e.code) {
    case StoreError::unavailable: return UserError::unavailable;
    case StoreError::duplicate: return UserError::already_exists;
    case StoreError::other: return UserError::internal;
    }
    return UserError::internal;
}

std::string UserManager::reset_fingerprint(const User& user) const {
    return sodium::hmac_sha256_base64url(d_.config.reset_secret.view(), user.hashed_password);
}

UserResult<User> UserManager::get(std::string_view id) {
    if (!sodium::is_uuid(id)) return make_error(UserError::not_exists);
    std::string lower(id);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto r = store_.get(lower);
    if (!r) return make_error(from_store(r.error()));
    if (!*r) return make_error(UserError::not_exists);
    return std::move(**r);
}

UserResult<User> UserManager::create(std::string_view email, std::string_view password, bool superuser,
                                     bool verified) {
    const Config& c = d_.config;
    if (auto problem = password_problem(password, email, c.password_min_length, c.password_max_length))
        return make_error(UserError::invalid_password, *problem);
    auto existing = store_.get_by_email(email);
    if (!existing) return make_error(from_store(existing.error()));
    if (*existing) return make_error(UserError::already_exists);
    User u;
    u.id = sodium::uuid4();
    u.email = std::string(email);
    u.hashed_password = d_.hasher.hash(password);
    if (u.hashed_password.empty()) return make_error(UserError::unavailable, "out of memory for hashing");
    u.is_superuser = superuser;
    u.is_verified = verified;
    // The unique index decides a race between two registrations.
    auto events = event("after_register", u);
    auto r = store_.create(u, events);
    if (!r) return make_error(from_store(r.error()));
    wake(events);
    return u;
}

UserResult<std::optional<User>> UserManager::authenticate(std::string_view email, std::string_view password) {
    auto found = store_.get_by_email(email);
    if (!found) return make_error(from_store(found.error()));
    return check_password(std::move(*found), password);
}

UserResult<std::optional<User>> UserManager::check_password(std::optional<User> found, std::string_view password) {
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
            auto r = store_.update_hash_if(user.id, user.hashed_password, fresh);
            if (!r) return make_error(from_store(r.error()));
            user.hashed_password = std::move(fresh);
        }
    }
    return std::optional<User>{std::move(user)};
}

UserResult<Unit> UserManager::on_after_login(const User& user) { return record(event("after_login", user)); }

UserResult<Unit> UserManager::on_after_refresh_reuse(const User& user) {
    return record(event("after_refresh_reuse", user));
}

UserResult<Unit> UserManager::record(const std::vector<HookEvent>& events) {
    if (events.empty()) return Unit{};
    auto r = store_.record(events);
    if (!r) return make_error(from_store(r.error()));
    wake(events);
    return Unit{};
}

UserResult<Unit> UserManager::forgot_password(std::string_view email) {
    Padded pad(d_.forgot_timing, false);
    auto found = store_.get_by_email(email);
    if (!found) return make_error(from_store(found.error()));
    if (!*found || !(*found)->is_active) return Unit{};  // 202 all the same; no event
    pad.slow();
    const User& user = **found;
    json::Doc claims(cJSON_CreateObject());
    cJSON_AddStringToObject(claims.get(), "sub", user.id.c_str());
    cJSON_AddStringToObject(claims.get(), "password_fgpt", reset_fingerprint(user).c_str());
    cJSON_AddStringToObject(claims.get(), "aud", kResetAudience);
    std::string token = d_.jwt.encode(d_.config.reset_secret, claims.get(), d_.config.reset_lifetime);
    return record(event("after_forgot_password", user, std::move(token)));
}

UserResult<User> UserManager::reset_password(std::string_view token, std::string_view password) {
    auto bad = make_error(UserError::invalid_reset_password_token);
    auto claims = d_.jwt.decode(token, d_.config.reset_secret, kResetAudience);
    if (!claims) return bad;
    std::string sub = claim_string(claims->get(), "sub");
    std::string fgpt = claim_string(claims->get(), "password_fgpt");
    if (fgpt.empty()) return bad;
    auto user = get(sub);
    if (!user) {
        if (user.error().code == UserError::not_exists) return bad;
        return user.error();
    }
    // A password change since the token was issued spends it.
    std::string current = reset_fingerprint(*user);
    if (current.size() != fgpt.size() || sodium_memcmp(current.data(), fgpt.data(), fgpt.size()) != 0) return bad;
    if (!user->is_active) return bad;
    const Config& c = d_.config;
    if (auto problem = password_problem(password, user->email, c.password_min_length, c.password_max_length))
        return make_error(UserError::invalid_password, *problem);
    User updated = *user;
    updated.hashed_password = d_.hasher.hash(password);
    if (updated.hashed_password.empty()) return make_error(UserError::unavailable);
    auto events = event("after_reset_password", updated);
    auto r = store_.update(updated, events, SessionKeep{});
    if (!r) return make_error(from_store(r.error()));
    wake(events);
    return updated;
}

UserResult<Unit> UserManager::request_verify(std::string_view email) {
    Padded pad(d_.verify_timing, false);
    auto found = store_.get_by_email(email);
    if (!found) return make_error(from_store(found.error()));
    if (!*found || !(*found)->is_active || (*found)->is_verified) return Unit{};
    pad.slow();
    const User& user = **found;
    json::Doc claims(cJSON_CreateObject());
    cJSON_AddStringToObject(claims.get(), "sub", user.id.c_str());
    cJSON_AddStringToObject(claims.get(), "email", user.email.c_str());
    cJSON_AddStringToObject(claims.get(), "aud", kVerifyAudience);
    std::string token = d_.jwt.encode(d_.config.verify_secret, claims.get(), d_.config.verify_lifetime);
    return record(event("after_request_verify", user, std::move(token)));
}

UserResult<User> UserManager::verify(std::string_view token) {
    auto bad = make_error(UserError::invalid_verify_token);
    auto claims = d_.jwt.decode(token, d_.config.verify_secret, kVerifyAudience);
    if (!claims) return bad;
    std::string sub = claim_string(claims->get(), "sub");
    std::string email = claim_string(claims->get(), "email");
    if (sub.empty() || email.empty()) return bad;
    auto found = store_.get_by_email(email);
    if (!found) return make_error(from_store(found.error()));
    // The address must still be this user's: an e-mail change spends the token.
    if (!*found || (*found)->id != sub) return bad;
    User user = std::move(**found);
    if (user.is_verified) return make_error(UserError::already_verified);
    user.is_verified = true;
    auto events = event("after_verify", user);
    auto r = store_.update(user, events);
    if (!r) return make_error(from_store(r.error()));
    wake(events);
    return user;
}

UserResult<User> UserManager::update(const User& user, const UserUpdate& change, bool safe,
                                     const SessionKeep& keep) {
    User next = user;
    const Config& c = d_.config;
    if (change.email && *change.email != user.email) {
        if (!iequal(*change.email, user.email)) {
            auto other = store_.get_by_email(*change.email);
            if (!other) return make_error(from_store(other.error()));
            if (*other) return make_error(UserError::already_exists);
            next.is_verified = false;
        }
        next.email = *change.email;
    }
    if (change.password) {
        if (auto problem = password_problem(*change.password, next.email, c.password_min_length, c.password_max_length))
            return make_error(UserError::invalid_password, *problem);
        next.hashed_password = d_.hasher.hash(*change.password);
        if (next.hashed_password.empty()) return make_error(UserError::unavailable);
    }
    if (!safe) {
        if (change.is_active) next.is_active = *change.is_active;
        if (change.is_superuser) next.is_superuser = *change.is_superuser;
        if (change.is_verified) next.is_verified = *change.is_verified;
    }
    auto events = event("after_update", next);
    std::optional<SessionKeep> end;
    if (change.password || (user.is_active && !next.is_active)) end = keep;
    auto r = store_.update(next, events, end);
    if (!r) return make_error(from_store(r.error()));  // duplicate: a racing registration won
    wake(events);
    return next;
}

UserResult<Unit> UserManager::remove(const User& user) {
    auto events = event("before_delete", user);
    auto after = event("after_delete", user);
    events.insert(events.end(), after.begin(), after.end());
    auto r = store_.remove(user.id, events);
    if (!r) return make_error(from_store(r.error()));
    wake(events);
    return Unit{};
}

UserResult<User> UserManager::set_password(const User& user, std::string_view password) {
    User next = user;
    next.hashed_password = d_.hasher.hash(password);
    if (next.hashed_password.empty()) return make_error(UserError::unavailable);
    auto r = store_.update(next, {}, SessionKeep{});
    if (!r) return make_error(from_store(r.error()));
    return next;
}

}  // namespace fu
