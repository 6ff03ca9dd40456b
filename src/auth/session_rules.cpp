// The session rules of access JWTs (see session_rules.h).
#include "auth/session_rules.h"

#include <cmath>

#include "users/tokens.h"
#include "wrap/sodium.h"

namespace fu {

TokenSession token_session(const cJSON* claims, std::string_view token) {
    TokenSession t;
    // Ids other than base64url of at most 43 characters (minted elsewhere)
    // are not ours: such a token is revoked by its hash, its sid ignored.
    t.id = claim_string(claims, "jti");
    if (!revoked_id_valid(t.id)) t.id = sodium::sha256_base64url(token);
    t.sid = claim_string(claims, "sid");
    if (!revoked_id_valid(t.sid)) t.sid.clear();
    const cJSON* exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    if (cJSON_IsNumber(exp)) t.exp = static_cast<long long>(exp->valuedouble);
    const cJSON* gen = cJSON_GetObjectItemCaseSensitive(claims, "sgen");
    if (cJSON_IsNumber(gen) && std::isfinite(gen->valuedouble))
        t.generation = static_cast<long long>(gen->valuedouble);
    return t;
}

bool session_alive(const TokenSession& token, const SessionUser& state, long lifetime_seconds) {
    if (revoked_ids_contain(state.revoked_ids, token.id) ||
        revoked_ids_contain(state.revoked_ids, token.sid))
        return false;
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
