// The OAuth state and what derives from it. The state is a JWT as FastAPI
// Users' (aud "fastapi-users:oauth-state", exp; sub for the associate flow)
// plus the provider and flow it was issued for, and the SHA-256 of the CSRF
// cookie's value where FastAPI Users writes the value itself. The PKCE
// verifier and the OIDC nonce are not stored anywhere: both are HMACs of the
// cookie's value under the state secret, so the browser's HttpOnly cookie
// brings them back. The URL that carries the code and the state (a log line,
// a referrer, an intercepted redirect) never holds that value: with the
// value in the state, anyone holding that URL could send it as the cookie
// and have the code exchanged, and PKCE would bind the code to nothing.
#pragma once

#include <string>
#include <string_view>

#include "users/tokens.h"
#include "util/result.h"
#include "util/secret.h"

namespace fu::oauth {

inline constexpr const char* kStateAudience = "fastapi-users:oauth-state";
inline constexpr const char* kCsrfCookie = "fastapiusersoauthcsrf";

struct State {
    std::string csrf_hash;  // in the JWT: csrf_hash(the CSRF cookie's value)
    std::string provider;
    bool associate = false;
    std::string sub;  // the logged-in user of an associate flow
    // The CSRF cookie's value, once matched against csrf_hash (never in the JWT).
    std::string csrftoken;
};

// What the state holds of CSRF cookie value `csrftoken`.
std::string csrf_hash(std::string_view csrftoken);
// Whether `cookie` is the CSRF cookie `s` was issued with (constant time).
bool cookie_matches(const State& s, std::string_view cookie);

std::string issue_state(const JwtCodec& jwt, const SecretString& secret, long lifetime_seconds,
                        const State& s);

enum class StateError {
    decode,   // ACCESS_TOKEN_DECODE_ERROR
    expired,  // ACCESS_TOKEN_ALREADY_EXPIRED
};
Result<State, StateError> read_state(const JwtCodec& jwt, const SecretString& secret,
                                     std::string_view token);

// RFC 7636: a 43-character verifier and its S256 challenge.
std::string pkce_verifier(const SecretString& secret, std::string_view csrftoken);
std::string pkce_challenge(std::string_view verifier);
std::string oidc_nonce(const SecretString& secret, std::string_view csrftoken);

}  // namespace fu::oauth
