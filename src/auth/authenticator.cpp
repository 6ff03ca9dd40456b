// Transports (bearer header, cookie) and strategies (JWT, database token)
// behind the Authenticator; see authenticator.h for who wins and why.
#include "auth/authenticator.h"

#include <ctime>
#include <vector>

#include "util/ascii.h"
#include "util/log.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

constexpr const char* kAccessAudience = "fastapi-users:auth";
constexpr size_t kDatabaseTokenChars = 43;
constexpr size_t kIdBytes = 16;  // jti and sid: 128 random bits

AuthError from_db(const Error<db::DbError>& e) {
    return e.code == db::DbError::unavailable ? AuthError::unavailable : AuthError::unauthorized;
}

}  // namespace

std::optional<std::string> Authenticator::read_transport(const http::Request& req,
                                                         const BackendConfig& backend) const {
    if (backend.transport == Transport::cookie) {
        const std::string* c = req.cookie(config_.cookie.name);
        if (!c || c->empty()) return std::nullopt;
        return *c;
    }
    const std::string* h = req.header("authorization");
    if (!h) return std::nullopt;
    // "Bearer <token>", the scheme in any letter case (OAuth2PasswordBearer).
    size_t space = h->find(' ');
    if (space != 6) return std::nullopt;
    for (size_t i = 0; i < 6; ++i)
        if (ascii::lower((*h)[i]) != "bearer"[i]) return std::nullopt;
    size_t start = h->find_first_not_of(' ', space);
    if (start == std::string::npos) return std::nullopt;
    std::string token = h->substr(start);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    return token;
}

Result<std::optional<User>, AuthError> Authenticator::read_token(const BackendConfig& backend,
                                                                 const std::string& token,
                                                                 TokenSession& session) {
    std::optional<Offer> offer = take_offer(token, backend.strategy);
    if (backend.strategy == Strategy::database) {
        if (token.size() != kDatabaseTokenChars) return std::optional<User>{};
        if (offer) {
            if (!offer->row) return offer->row.error();
            if (!*offer->row) return std::optional<User>{};
            return std::optional<User>{std::move((*offer->row)->user)};
        }
        auto user =
            tokens_.find_user(sodium::sha256_base64url(token), config_.database_token_lifetime);
        if (!user) return make_error(from_db(user.error()));
        return std::move(*user);
    }
    std::optional<Prepared> decoded = offer ? std::move(offer->prepared) : decode_access(token);
    if (!decoded) return std::optional<User>{};
    session = token_session(decoded->claims.get(), token);
    // The user row with its session state and revoked ids: one statement
    // (or the group's, which began after this request arrived).
    Result<std::optional<SessionUser>, AuthError> found = make_error(AuthError::unavailable);
    if (offer) {
        found = std::move(offer->row);
    } else if (auto read = sessions_.find_user(decoded->subject); read) {
        found = std::move(*read);
    } else {
        found = make_error(from_db(read.error()));
    }
    if (!found) return found.error();
    if (!*found || !session_alive(session, **found, config_.access_token_lifetime))
        return std::optional<User>{};
    return std::optional<User>{std::move((*found)->user)};
}

std::optional<Authenticator::Prepared> Authenticator::decode_access(
    const std::string& token) const {
    auto claims = jwt_.decode(token, config_.access_token_secret, kAccessAudience);
    if (!claims) return std::nullopt;
    std::string sub = claim_string(claims->get(), "sub");
    if (!sodium::is_uuid(sub)) return std::nullopt;
    for (char& c : sub) c = ascii::lower(c);
    return Prepared{token, std::move(*claims), std::move(sub), {}};
}

std::optional<Authenticator::Prepared> Authenticator::prepare(const http::Request& req) const {
    // As current_user tries the backends: one whose token names no user
    // gives way to the next.
    for (const auto& backend : config_.backends) {
        auto token = read_transport(req, backend);
        if (!token) continue;
        if (backend.strategy == Strategy::database) {
            if (token->size() == kDatabaseTokenChars)
                return Prepared{*token, nullptr, {}, sodium::sha256_base64url(*token)};
        } else if (auto decoded = decode_access(*token)) {
            return decoded;
        }
    }
    return std::nullopt;
}

std::optional<Authenticator::Offer> Authenticator::take_offer(const std::string& token,
                                                              Strategy strategy) {
    std::optional<Offer> offer;
    bool is_jwt = offered_ && offered_->prepared.claims != nullptr;
    if (offered_ && offered_->prepared.token == token && is_jwt == (strategy == Strategy::jwt))
        offer.swap(offered_);
    return offer;
}

Result<std::vector<std::pair<std::string, User>>, AuthError> Authenticator::read_token_users(
    std::span<const std::string_view> token_hashes) {
    auto users = tokens_.find_users(token_hashes, config_.database_token_lifetime);
    if (!users) return make_error(from_db(users.error()));
    return std::move(*users);
}

Result<std::vector<SessionUser>, AuthError> Authenticator::read_users(
    std::span<const std::string_view> ids) {
    auto rows = sessions_.find_users(ids);
    if (!rows) return make_error(from_db(rows.error()));
    return std::move(*rows);
}

void Authenticator::offer(Prepared prepared, Result<std::optional<SessionUser>, AuthError> row) {
    offered_.emplace(Offer{std::move(prepared), std::move(row)});
}

Result<Authenticated, AuthError> Authenticator::check(std::optional<Authenticated> found,
                                                      Requirements need) const {
    if (!found || (need.active && !found->user.is_active))
        return make_error(AuthError::unauthorized);
    bool verified_needed = need.verified || found->backend->requires_verification;
    if ((verified_needed && !found->user.is_verified) ||
        (need.superuser && !found->user.is_superuser))
        return make_error(AuthError::forbidden);
    return std::move(*found);
}

Result<Authenticated, AuthError> Authenticator::current_user(const http::Request& req,
                                                             Requirements need) {
    for (const auto& backend : config_.backends) {
        auto token = read_transport(req, backend);
        if (!token) continue;
        TokenSession session;
        auto user = read_token(backend, *token, session);
        if (!user) return user.error();
        if (*user)
            return check(
                Authenticated{std::move(**user), &backend, std::move(*token), std::move(session)},
                need);
    }
    return check(std::nullopt, need);
}

Result<Authenticated, AuthError> Authenticator::current_user(const http::Request& req,
                                                             const BackendConfig& backend,
                                                             Requirements need) {
    auto token = read_transport(req, backend);
    if (!token) return make_error(AuthError::unauthorized);
    TokenSession session;
    auto user = read_token(backend, *token, session);
    if (!user) return user.error();
    if (!*user) return make_error(AuthError::unauthorized);
    return check(Authenticated{std::move(**user), &backend, std::move(*token), std::move(session)},
                 need);
}

Result<std::string, AuthError> Authenticator::write_token(const BackendConfig& backend,
                                                          const User& user,
                                                          const NewSession& session) {
    if (backend.strategy == Strategy::jwt) {
        json::Doc claims(cJSON_CreateObject());
        cJSON_AddStringToObject(claims.get(), "sub", user.id.c_str());
        cJSON* aud = cJSON_AddArrayToObject(claims.get(), "aud");
        cJSON_AddItemToArray(aud, cJSON_CreateString(kAccessAudience));
        cJSON_AddStringToObject(claims.get(), "jti", sodium::random_token(kIdBytes).c_str());
        cJSON_AddNumberToObject(claims.get(), "iat", static_cast<double>(std::time(nullptr)));
        std::string sid = session.id.empty() ? sodium::random_token(kIdBytes) : session.id;
        cJSON_AddStringToObject(claims.get(), "sid", sid.c_str());
        cJSON_AddNumberToObject(claims.get(), "sgen", static_cast<double>(session.generation));
        return jwt_.encode(config_.access_token_secret, claims.get(),
                           config_.access_token_lifetime);
    }
    std::string token = sodium::random_token(32);
    auto r = tokens_.create(sodium::sha256_base64url(token), user.id, session.generation);
    if (!r) return make_error(AuthError::unavailable);
    // Not written (*r false): the session ended after the user was checked,
    // so the token is born ended, as an access JWT of that generation would
    // be; the next request with it is refused.
    return token;
}

Result<std::optional<SessionUser>, AuthError> Authenticator::session_user(
    std::string_view user_id) {
    auto u = sessions_.find_user(user_id);
    if (!u) return make_error(from_db(u.error()));
    return std::move(*u);
}

std::string Authenticator::new_session_id() {
    return sodium::random_token(kIdBytes);
}

Result<Unit, AuthError> Authenticator::destroy_token(const Authenticated& who) {
    if (who.backend->strategy == Strategy::database) {
        auto r = tokens_.remove(sodium::sha256_base64url(who.token));
        if (!r) return make_error(AuthError::unavailable);
        return Unit{};
    }
    // The token until its own expiry; its session (every token refreshed
    // from the same login) until the last of them can have expired.
    std::vector<RevokedId> ids{{who.session.id, who.session.exp}};
    if (!who.session.sid.empty()) {
        ids.push_back(RevokedId{who.session.sid, static_cast<long long>(std::time(nullptr)) +
                                                     config_.access_token_lifetime});
        if (auto r = refresh_.revoke_family(who.session.sid); !r)
            return make_error(from_db(r.error()));
    }
    auto revoked = sessions_.revoke(who.user.id, ids);
    if (!revoked) return make_error(from_db(revoked.error()));
    if (revoked->ended)
        log::info("user " + who.user.id + " has more live revoked tokens than its row holds (" +
                  std::to_string(kMaxRevokedIds) + "): all its sessions were ended instead");
    return Unit{};
}

Result<Unit, AuthError> Authenticator::end_sessions(const Authenticated& who) {
    auto r = sessions_.end_all(who.user.id, SessionKeep{});
    if (!r) return make_error(from_db(r.error()));
    return Unit{};
}

SessionKeep Authenticator::keep_of(const Authenticated& who, std::string_view user_id) const {
    SessionKeep keep;
    if (who.user.id != user_id) return keep;
    if (who.backend->strategy == Strategy::database) {
        keep.token_hash = sodium::sha256_base64url(who.token);
        return keep;
    }
    // Only our tokens (sgen with their sid) can survive an ending; a token
    // minted elsewhere is judged by its lifetime, as when it was authenticated.
    if (who.session.generation) keep.sid = who.session.sid;
    keep.alive = [session = who.session, lifetime = config_.access_token_lifetime](
                     const SessionUser& state) { return session_alive(session, state, lifetime); };
    return keep;
}

}  // namespace fu
