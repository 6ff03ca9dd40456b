// Signing with libjwt, checking with HmacKey, libsodium's base64 and cJSON (see tokens.h).
#include "users/tokens.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>

#include "wrap/jwt.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

constexpr size_t kMaxTokenBytes = 8192;
constexpr double kIatLeewaySeconds = 60;  // clocks of two servers sharing a key may differ

// As PyJWT: a string, or a list of strings one of which is ours. A list with
// anything but strings in it is no audience ("Invalid claim format").
bool audience_matches(const cJSON* aud, std::string_view audience) {
    if (cJSON_IsString(aud)) return audience == aud->valuestring;
    if (!cJSON_IsArray(aud)) return false;
    bool found = false;
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, aud) {
        if (!cJSON_IsString(item)) return false;
        if (audience == item->valuestring) found = true;
    }
    return found;
}

}  // namespace

JwtCodec::JwtCodec(const std::string& algorithm, const std::vector<SecretString>& keys)
    : name_(algorithm),
      alg_(jwt_str_alg(algorithm.c_str())),
      hash_(algorithm == "HS512" ? HmacKey::Hash::sha512 : HmacKey::Hash::sha256) {
    for (const SecretString& key : keys)
        if (!key.empty()) keys_.emplace_back(hash_, key.view());
    std::string usual = R"({"alg":")" + name_ + R"(","typ":"JWT"})";
    usual_header_ =
        sodium::base64url(reinterpret_cast<const unsigned char*>(usual.data()), usual.size());
}

std::string JwtCodec::encode(const SecretString& key, const cJSON* claims,
                             long lifetime_seconds) const {
    json::Doc body(cJSON_Duplicate(claims, true));
    cJSON_AddNumberToObject(body.get(), "exp",
                            static_cast<double>(std::time(nullptr) + lifetime_seconds));
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) return {};
    jwt::Token t(raw);
    if (jwt_add_grants_json(t.get(), json::print(body.get()).c_str()) != 0) return {};
    if (jwt_set_alg(t.get(), static_cast<jwt_alg_t>(alg_), key.bytes(),
                    static_cast<int>(key.size())) != 0)
        return {};
    jwt::Str s(jwt_encode_str(t.get()));
    return s ? std::string(s.get()) : std::string();
}

Result<json::Doc, TokenError> JwtCodec::decode(std::string_view token, const SecretString& key,
                                               std::string_view audience) const {
    auto bad = make_error(TokenError::invalid);
    if (key.empty() || token.empty() || token.size() > kMaxTokenBytes) return bad;
    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return bad;
    std::string_view signing_input = token.substr(0, dot2);
    std::string_view header_text = token.substr(0, dot1);
    auto payload = sodium::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    auto signature = sodium::base64url_decode(token.substr(dot2 + 1));
    if (!payload || !signature) return bad;

    // Only the configured algorithm: "none", another HMAC or RSA never pass.
    // Duplicate names are refused: one signed token, one reading. The usual
    // header says just that, so it is not read again for every token.
    if (header_text != usual_header_) {
        auto header = sodium::base64url_decode(header_text);
        if (!header) return bad;
        json::Doc head = json::parse(*header, json::DuplicateKeys::refuse);
        const cJSON* alg = cJSON_GetObjectItemCaseSensitive(head.get(), "alg");
        if (!cJSON_IsObject(head.get()) || !cJSON_IsString(alg) || name_ != alg->valuestring)
            return bad;
        // RFC 7515 4.1.11: extensions the signer marks critical must be
        // understood, and this codec understands none.
        if (cJSON_GetObjectItemCaseSensitive(head.get(), "crit")) return bad;
        // A kid, when there is one, is a string (RFC 7515 4.1.4).
        const cJSON* kid = cJSON_GetObjectItemCaseSensitive(head.get(), "kid");
        if (kid && !cJSON_IsString(kid)) return bad;
    }
    auto prepared =
        std::find_if(keys_.begin(), keys_.end(), [&](const HmacKey& k) { return k.has_key(key); });
    std::string mac = prepared != keys_.end() ? prepared->mac(signing_input)
                                              : HmacKey(hash_, key.view()).mac(signing_input);
    if (mac.empty() || signature->size() != mac.size() ||
        sodium_memcmp(signature->data(), mac.data(), mac.size()) != 0)
        return bad;

    json::Doc claims = json::parse(*payload, json::DuplicateKeys::refuse);
    if (!claims || !cJSON_IsObject(claims.get())) return bad;
    auto now = static_cast<double>(std::time(nullptr));
    // Numbers as JSON can write them only: 1e400 reads as infinity, which
    // would make a token that never expires (PyJWT fails on it).
    auto number = [](const cJSON* c) { return cJSON_IsNumber(c) && std::isfinite(c->valuedouble); };
    const cJSON* exp = cJSON_GetObjectItemCaseSensitive(claims.get(), "exp");
    if (!number(exp)) return bad;
    // As PyJWT: not before nbf, and not issued in the future (beyond a clock skew).
    const cJSON* nbf = cJSON_GetObjectItemCaseSensitive(claims.get(), "nbf");
    if (nbf && (!number(nbf) || nbf->valuedouble > now)) return bad;
    const cJSON* iat = cJSON_GetObjectItemCaseSensitive(claims.get(), "iat");
    if (iat && (!number(iat) || iat->valuedouble > now + kIatLeewaySeconds)) return bad;
    if (!audience_matches(cJSON_GetObjectItemCaseSensitive(claims.get(), "aud"), audience))
        return bad;
    if (exp->valuedouble <= now) return make_error(TokenError::expired);
    return claims;
}

std::string claim_string(const cJSON* claims, const char* name) {
    const cJSON* c = cJSON_GetObjectItemCaseSensitive(claims, name);
    return cJSON_IsString(c) ? std::string(c->valuestring) : std::string();
}

}  // namespace fu
