// OpenID Connect id tokens: the provider's JWKS turned into public keys, the
// key a token names, its signature (RS256/384/512, ES256/384) and the claims
// OIDC Core 3.1.3.7 says a client must check: iss, aud (and azp), exp, iat,
// nonce, sub. Pure functions over text: unit-tested without a provider.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "wrap/cjson.h"
#include "wrap/openssl.h"

namespace fu::oauth {

struct Jwk {
    std::string kid;
    std::string kty;  // RSA or EC
    std::string alg;  // may be empty (any algorithm of its type)
    std::shared_ptr<EVP_PKEY> key;
};

// The usable signing keys of a JWKS document (keys of other types or uses,
// or malformed ones, are skipped). nullopt-like error when it is no JWKS.
Result<std::vector<Jwk>, std::string> parse_jwks(std::string_view json);

enum class IdTokenError {
    malformed,      // not a JWS of three base64url parts with JSON objects
    unknown_key,    // no key of the JWKS fits its kid and alg: refetch the JWKS once
    bad_algorithm,  // an algorithm we do not accept (none, HS*): no key could verify it
    bad_signature,  // the key its kid and alg name does not verify it: refetch the JWKS once
    bad_claims,     // detail says which
};

// A compact JWS split and decoded, before any check.
struct Jws {
    std::string alg;
    std::string kid;
    std::string signing_input;
    std::string signature;
    json::Doc claims;
};
Result<Jws, IdTokenError> split_jws(std::string_view token);

// The key of `keys` that `jws` names: by kid when it has one, else the only
// key of the algorithm's type. Null when none.
const Jwk* select_key(const std::vector<Jwk>& keys, const Jws& jws);

bool verify_signature(const Jwk& key, const Jws& jws);

struct IdTokenExpectations {
    std::string
        issuer;  // may hold {tenantid} (Microsoft's common endpoint): the token's tid fills it
    std::string client_id;
    std::string nonce;
    std::time_t now = 0;
    long leeway_seconds = 60;
};

// Checks the signature with `keys` and the claims; the claims on success.
Result<json::Doc, IdTokenError> check_id_token(std::string_view token, const std::vector<Jwk>& keys,
                                               const IdTokenExpectations& expect);

}  // namespace fu::oauth
