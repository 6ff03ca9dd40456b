// JwtCodec: signs and checks the JWTs of API.md (access, reset, verify) with
// one pinned HMAC algorithm. libjwt signs. Checking is done here, with
// HmacKey (OpenSSL's digests, each key's states computed once) and cJSON:
// libjwt 1.10 takes whatever `alg` the token names, ignores exp and aud and
// crashes on huge input, and its decode (an OpenSSL key and jansson objects
// per call) cost ~25 µs of the ~75 µs a /users/me request took in fcgi-users
// (scripts/bench); this check costs a fraction of that. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "util/secret.h"
#include "wrap/cjson.h"
#include "wrap/hmac.h"

namespace fu {

// expired: well signed for this audience, but past its exp (callers that need
// not tell the two apart treat every error alike).
enum class TokenError { invalid, expired };

class JwtCodec {
  public:
    // algorithm: HS256 or HS512 (validated by Config). `keys`: the secrets
    // tokens will be checked with, whose HMAC states are computed here once;
    // decode() with any other key computes them for that call.
    explicit JwtCodec(const std::string& algorithm, const std::vector<SecretString>& keys = {});

    // Signs `claims` (an object; exp is added: now + lifetime seconds).
    std::string encode(const SecretString& key, const cJSON* claims, long lifetime_seconds) const;

    // The claims of a token signed with `key` and the pinned algorithm, whose
    // exp is a number in the future and whose aud (string or list) holds `audience`;
    // nbf, when present, not in the future; iat, when present, at most 60 s
    // in the future; no name twice in the header or the claims. A key not
    // given at construction costs OpenSSL's digest lookups on every call, and
    // throws std::runtime_error if OpenSSL cannot set its states up (a
    // handler's exception is a 500).
    Result<json::Doc, TokenError> decode(std::string_view token, const SecretString& key,
                                         std::string_view audience) const;

  private:
    std::string name_;  // "HS256" or "HS512", as in the header
    int alg_;           // jwt_alg_t, for signing
    HmacKey::Hash hash_;
    std::vector<HmacKey> keys_;  // set at construction, then only read
    // The header libjwt and PyJWT write, {"alg":"<name_>","typ":"JWT"}, as it
    // stands in a token: one that carries it needs no decoding or parsing.
    std::string usual_header_;
};

// A string claim of a decoded token, or empty.
std::string claim_string(const cJSON* claims, const char* name);

}  // namespace fu
