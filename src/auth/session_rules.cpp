// The session rules of access JWTs (see session_rules.h).
#include "auth/session_rules.h"

#include <cmath>

#include "users/tokens.h"
#include "wrap/sodium.h"

namespace fu {

TokenSession token_session(const cJSON* claims, std::string_view token) {
    TokenSession t;
    t.id = claim_string(claims, "jti");
    if (t.id.empty() || t.id.size() > 43) t.id = sodium::sha256_base64url(token);
    t.sid = claim_string(claims, "sid");
    if (t.sid.size() > 43) t.sid.clear();
    const cJSON* exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    if (cJSON_IsNumber(exp)) t.exp = static_cast<long long>(exp->valuedouble);
    const cJSON* gen = cJSON_GetObjectItemCaseSensitive(claims, "sgen");
    if (cJSON_IsNumber(gen) && std::isfinite(gen->valuedouble))
        t.generation = static_cast<long long>(gen->valuedouble);
    return t;
}

bool session_alive(const TokenSession& token, const SessionUser& state, long lifetime_seconds) {
    if (state.revoked) return false;
    if (token.generation) {
        if (*token.generation >= state.generation) return true;
        return !token.sid.empty() && state.kept && *state.kept == token.sid;
    }
    // A user whose sessions never ended has no ending (not the registration
    // time: tokens minted before the account existed stay valid).
    if (!state.ended_ms) return true;
    return (token.exp - lifetime_seconds) * 1000 >= *state.ended_ms;
}

}  // namespace fu
