// The OAuth state and what derives from it. The state is FastAPI Users'
// JWT (aud "fastapi-users:oauth-state", csrftoken, exp; sub for the
// associate flow) plus the provider and flow it was issued for. The PKCE
// verifier and the OIDC nonce are not stored anywhere: both are HMACs of the
// CSRF cookie's value under the state secret, so the browser's HttpOnly
// cookie brings them back, and the URL that carries the code and the state
// never reveals the verifier.
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
    std::string csrftoken;
    std::string provider;
    bool associate = false;
    std::string sub;  // the logged-in user of an associate flow
};

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
