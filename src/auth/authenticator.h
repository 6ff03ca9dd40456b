// Authenticator: who is making a request, as FastAPI Users' Authenticator
// decides it. Each configured backend pairs a transport (where the token
// travels: bearer header or cookie) with a strategy (what it is: a JWT or a
// database token); backends are tried in order and the first that yields a
// user wins. One per worker thread.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/session_rules.h"
#include "config/config.h"
#include "http/request.h"
#include "store/refresh_token_store.h"
#include "store/session_store.h"
#include "store/token_store.h"
#include "users/tokens.h"
#include "users/user_manager.h"

namespace fu {

enum class AuthError {
    unauthorized,  // no credential, a bad one, or an inactive user: 401
    forbidden,     // lacks what the route needs: 403
    unavailable,   // database gone: 503
};

struct Requirements {
    bool active = true;
    bool verified = false;
    bool superuser = false;
};

struct Authenticated {
    User user;
    const BackendConfig* backend = nullptr;
    std::string token;
    TokenSession session;  // JWTs only
};

// The session a new token belongs to: a JWT's sid, and the user's session
// generation read together with the user's state that allowed the session
// (the login's lookup, before the password's hash): an ending that commits
// after that read ends the new session too, whatever the token's kind.
struct NewSession {
    std::string id;
    long long generation = 0;
};

class Authenticator {
  public:
    Authenticator(const Config& config, const JwtCodec& jwt, TokenStore& tokens,
                  SessionStore& sessions, RefreshTokenStore& refresh)
        : config_(config), jwt_(jwt), tokens_(tokens), sessions_(sessions), refresh_(refresh) {}

    // The user of any backend's credential, checked against `req`uirements.
    Result<Authenticated, AuthError> current_user(const http::Request& req, Requirements need);
    // As current_user, but only `backend`'s credential counts (logout).
    Result<Authenticated, AuthError> current_user(const http::Request& req,
                                                  const BackendConfig& backend, Requirements need);

    // Strategy: a new token for `user` (write_token; a JWT of session
    // `session`, a new one when its id is empty) and the end of the session
    // it belongs to (destroy_token: the database token deleted; a JWT's id and
    // session id refused until it expires, with its refresh tokens).
    Result<std::string, AuthError> write_token(const BackendConfig& backend, const User& user,
                                               const NewSession& session);
    Result<Unit, AuthError> destroy_token(const Authenticated& who);
    // Ends every session of who's user, who's own included (logout-all).
    Result<Unit, AuthError> end_sessions(const Authenticated& who);
    // What a change made by `who` to user `user_id` keeps: who's own session,
    // when it is that user's; and how to tell, under the row's lock, that
    // this session still counts (UserStore's `caller`).
    SessionKeep keep_of(const Authenticated& who, std::string_view user_id) const;
    // User `user_id` as it is now, with its session generation read in the
    // same statement (for a new session's NewSession); nullopt: gone.
    Result<std::optional<SessionUser>, AuthError> session_user(std::string_view user_id);
    // A random session id (the sid claim, and the family of its refresh tokens).
    static std::string new_session_id();

    // Serving a group of requests with one read of their users' rows (the
    // worker, fcgi/server.cpp). prepare(): the token that would authenticate
    // `req` (the first backend whose transport carries a valid access JWT or
    // a token of a database token's form), nullopt when there is none.
    // read_users() / read_token_users(): the rows of the users `ids` name
    // (access JWTs) or of the database tokens `token_hashes` (at most
    // SessionStore::kMaxBatch), in one statement on this thread's connection.
    // offer(): the next current_user() that meets `prepared`'s token on a
    // backend of its strategy takes it, and `row` as its user's row (read
    // after the request arrived; nullopt: no such user or token; an error:
    // the group's statement failed, the request's answer then) instead of
    // reading it, once. withdraw(), after each request: drops what was not
    // taken, so nothing offered outlives the request it was read for.
    struct Prepared {
        std::string token;
        json::Doc claims;        // an access JWT's; null: a database token
        std::string subject;     // an access JWT's user id, lower case
        std::string token_hash;  // a database token's SHA-256, as stored
    };
    std::optional<Prepared> prepare(const http::Request& req) const;
    Result<std::vector<SessionUser>, AuthError> read_users(std::span<const std::string_view> ids);
    Result<std::vector<std::pair<std::string, User>>, AuthError> read_token_users(
        std::span<const std::string_view> token_hashes);
    void offer(Prepared prepared, Result<std::optional<SessionUser>, AuthError> row);
    void withdraw() { offered_.reset(); }

  private:
    // Transport: the token `backend` would carry in `req`, if any.
    std::optional<std::string> read_transport(const http::Request& req,
                                              const BackendConfig& backend) const;
    // Strategy: the user a token names, nullopt when it names none (or its
    // session has ended); a JWT's session claims in `session`.
    Result<std::optional<User>, AuthError> read_token(const BackendConfig& backend,
                                                      const std::string& token,
                                                      TokenSession& session);
    Result<Authenticated, AuthError> check(std::optional<Authenticated> found,
                                           Requirements need) const;
    // An access JWT's claims and subject, or nullopt when it is not a valid one.
    std::optional<Prepared> decode_access(const std::string& token) const;

    struct Offer {
        Prepared prepared;
        Result<std::optional<SessionUser>, AuthError> row;
    };
    // The offer for `token` on a backend of `strategy`, taken; or nullopt.
    std::optional<Offer> take_offer(const std::string& token, Strategy strategy);

    const Config& config_;
    const JwtCodec& jwt_;
    TokenStore& tokens_;
    SessionStore& sessions_;
    RefreshTokenStore& refresh_;
    std::optional<Offer> offered_;  // offer()'s, until taken or withdrawn
};

}  // namespace fu
