// Whether an access JWT's session is still alive, given its claims and its
// user's session state (SessionStore::find_user). Pure functions, so the
// rules are unit-tested without a database.
//
// Tokens fcgi-users issues carry jti, iat, sid (the session: the login, and
// the refresh tokens descending from it) and sgen (the user's session
// generation when issued). Ending a user's sessions adds one to the
// generation, so a token counts while sgen is not below it, or when its sid
// is the session kept by the last ending. Tokens minted by FastAPI Users
// (same secret, no sgen) count unless the sessions were ended after they
// could have been issued: exp - lifetime < the ending.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/session_store.h"
#include "wrap/cjson.h"

namespace fu {

struct TokenSession {
    std::string id;   // what logout revokes: jti, or the token's SHA-256 when it has none
    std::string sid;  // empty when the token has none
    long long exp = 0;
    std::optional<long long> generation;  // sgen; nullopt: minted elsewhere
};

// The session claims of a decoded, verified access token.
TokenSession token_session(const cJSON* claims, std::string_view token);

bool session_alive(const TokenSession& token, const SessionUser& state, long lifetime_seconds);

}  // namespace fu
