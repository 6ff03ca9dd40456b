// State JWTs through the project's JwtCodec (one pinned HMAC algorithm, exp
// and aud checked), and the HMAC-derived PKCE verifier and nonce.
#include "oauth/state.h"

#include "wrap/sodium.h"

namespace fu::oauth {
namespace {

std::string derive(const SecretString& secret, std::string_view purpose,
                   std::string_view csrftoken) {
    std::string input(purpose);
    input += ':';
    input += csrftoken;
    return sodium::hmac_sha256_base64url(secret.view(), input);
}

}  // namespace

std::string issue_state(const JwtCodec& jwt, const SecretString& secret, long lifetime_seconds,
                        const State& s) {
    json::Doc claims(cJSON_CreateObject());
    cJSON_AddStringToObject(claims.get(), "aud", kStateAudience);
    cJSON_AddStringToObject(claims.get(), "csrftoken_sha256", s.csrf_hash.c_str());
    cJSON_AddStringToObject(claims.get(), "oauth_name", s.provider.c_str());
    cJSON_AddBoolToObject(claims.get(), "associate", s.associate);
    if (!s.sub.empty()) cJSON_AddStringToObject(claims.get(), "sub", s.sub.c_str());
    return jwt.encode(secret, claims.get(), lifetime_seconds);
}

Result<State, StateError> read_state(const JwtCodec& jwt, const SecretString& secret,
                                     std::string_view token) {
    auto claims = jwt.decode(token, secret, kStateAudience);
    if (!claims)
        return make_error(claims.error().code == TokenError::expired ? StateError::expired
                                                                     : StateError::decode);
    State s;
    s.csrf_hash = claim_string(claims->get(), "csrftoken_sha256");
    s.provider = claim_string(claims->get(), "oauth_name");
    s.sub = claim_string(claims->get(), "sub");
    s.associate = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(claims->get(), "associate"));
    if (s.csrf_hash.empty() || s.provider.empty()) return make_error(StateError::decode);
    return s;
}

std::string csrf_hash(std::string_view csrftoken) {
    return sodium::sha256_base64url(csrftoken);
}

bool cookie_matches(const State& s, std::string_view cookie) {
    std::string h = csrf_hash(cookie);
    return h.size() == s.csrf_hash.size() &&
           sodium_memcmp(h.data(), s.csrf_hash.data(), h.size()) == 0;
}

std::string pkce_verifier(const SecretString& secret, std::string_view csrftoken) {
    return derive(secret, "pkce", csrftoken);
}

std::string pkce_challenge(std::string_view verifier) {
    return sodium::sha256_base64url(verifier);
}

std::string oidc_nonce(const SecretString& secret, std::string_view csrftoken) {
    return derive(secret, "nonce", csrftoken);
}

}  // namespace fu::oauth
