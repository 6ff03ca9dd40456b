// JWK to EVP_PKEY with OpenSSL 3's parameter builder, JWS signatures with
// EVP_DigestVerify (ES* signatures arrive as r||s and OpenSSL wants DER),
// and the id-token claim checks.
#include "oauth/id_token.h"

#include <openssl/core_names.h>
#include <sodium.h>

#include <cmath>

#include "wrap/sodium.h"

namespace fu::oauth {
namespace {

constexpr size_t kMaxIdTokenBytes = 16384;

std::string str(const cJSON* obj, const char* name) {
    const cJSON* c = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(c) ? std::string(c->valuestring) : std::string();
}

ossl::Bn bn_from_b64(const std::string& b64) {
    auto raw = sodium::base64url_decode(b64);
    if (!raw || raw->empty()) return nullptr;
    return ossl::Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()),
                              static_cast<int>(raw->size()), nullptr));
}

std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM* params) {
    ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        return nullptr;
    return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::shared_ptr<EVP_PKEY> rsa_key(const cJSON* jwk) {
    ossl::Bn n = bn_from_b64(str(jwk, "n")), e = bn_from_b64(str(jwk, "e"));
    if (!n || !e || BN_num_bits(n.get()) < 2048) return nullptr;
    ossl::ParamBld bld(OSSL_PARAM_BLD_new());
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()))
        return nullptr;
    ossl::Params params(OSSL_PARAM_BLD_to_param(bld.get()));
    return params ? from_params("RSA", params.get()) : nullptr;
}

std::shared_ptr<EVP_PKEY> ec_key(const cJSON* jwk) {
    std::string crv = str(jwk, "crv");
    const char* group = crv == "P-256" ? "prime256v1" : crv == "P-384" ? "secp384r1" : nullptr;
    size_t size = crv == "P-256" ? 32 : 48;
    auto x = sodium::base64url_decode(str(jwk, "x")), y = sodium::base64url_decode(str(jwk, "y"));
    if (!group || !x || !y || x->size() != size || y->size() != size) return nullptr;
    std::string point = "\x04" + *x + *y;
    ossl::ParamBld bld(OSSL_PARAM_BLD_new());
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                          point.size()))
        return nullptr;
    ossl::Params params(OSSL_PARAM_BLD_to_param(bld.get()));
    return params ? from_params("EC", params.get()) : nullptr;
}

// The digest and key type an accepted algorithm uses; null digest: refused.
struct AlgInfo {
    const EVP_MD* md = nullptr;
    const char* kty = "";
    size_t ec_part = 0;  // bytes of r and of s for ES*
};
AlgInfo alg_info(const std::string& alg) {
    if (alg == "RS256") return {EVP_sha256(), "RSA", 0};
    if (alg == "RS384") return {EVP_sha384(), "RSA", 0};
    if (alg == "RS512") return {EVP_sha512(), "RSA", 0};
    if (alg == "ES256") return {EVP_sha256(), "EC", 32};
    if (alg == "ES384") return {EVP_sha384(), "EC", 48};
    return {};
}

bool audience_has(const cJSON* aud, const std::string& client_id, size_t* count) {
    *count = 0;
    if (cJSON_IsString(aud)) {
        *count = 1;
        return client_id == aud->valuestring;
    }
    if (!cJSON_IsArray(aud)) return false;
    bool found = false;
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, aud) {
        ++*count;
        if (!cJSON_IsString(item)) return false;  // OIDC Core 2: an array of strings
        if (client_id == item->valuestring) found = true;
    }
    return found;
}

}  // namespace

Result<std::vector<Jwk>, std::string> parse_jwks(std::string_view json) {
    json::Doc doc = json::parse(json);
    const cJSON* list = cJSON_GetObjectItemCaseSensitive(doc.get(), "keys");
    if (!cJSON_IsObject(doc.get()) || !cJSON_IsArray(list))
        return make_error(std::string("not a JWKS document"));
    std::vector<Jwk> out;
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, list) {
        if (!cJSON_IsObject(item)) continue;
        std::string use = str(item, "use");
        if (!use.empty() && use != "sig") continue;
        Jwk k{str(item, "kid"), str(item, "kty"), str(item, "alg"), nullptr};
        if (k.kty == "RSA")
            k.key = rsa_key(item);
        else if (k.kty == "EC")
            k.key = ec_key(item);
        if (k.key) out.push_back(std::move(k));
    }
    return out;
}

Result<Jws, IdTokenError> split_jws(std::string_view token) {
    if (token.empty()) return make_error(IdTokenError::malformed, "no id token");
    if (token.size() > kMaxIdTokenBytes) return make_error(IdTokenError::malformed, "too long");
    auto bad = make_error(IdTokenError::malformed, "not three base64url parts");
    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return bad;
    auto header = sodium::base64url_decode(token.substr(0, dot1));
    auto payload = sodium::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    auto signature = sodium::base64url_decode(token.substr(dot2 + 1));
    if (!header || !payload || !signature) return bad;
    json::Doc head = json::parse(*header);
    Jws jws;
    jws.claims = json::parse(*payload);
    if (!cJSON_IsObject(head.get()) || !cJSON_IsObject(jws.claims.get()))
        return make_error(IdTokenError::malformed, "header or claims not a JSON object");
    // RFC 7515 4.1.11: critical extensions must be understood; none is here.
    if (cJSON_GetObjectItemCaseSensitive(head.get(), "crit"))
        return make_error(IdTokenError::malformed, "crit header");
    const cJSON* kid = cJSON_GetObjectItemCaseSensitive(head.get(), "kid");
    if (kid && !cJSON_IsString(kid)) return make_error(IdTokenError::malformed, "kid not a string");
    jws.alg = str(head.get(), "alg");
    jws.kid = str(head.get(), "kid");
    jws.signing_input = std::string(token.substr(0, dot2));
    jws.signature = std::move(*signature);
    return jws;
}

const Jwk* select_key(const std::vector<Jwk>& keys, const Jws& jws) {
    AlgInfo info = alg_info(jws.alg);
    if (!info.md) return nullptr;
    const Jwk* only = nullptr;
    size_t fitting = 0;
    for (const auto& k : keys) {
        if (k.kty != info.kty || (!k.alg.empty() && k.alg != jws.alg)) continue;
        if (!jws.kid.empty() && k.kid == jws.kid) return &k;
        ++fitting;
        only = &k;
    }
    // Without a kid, a key is chosen only when no other could be meant.
    return jws.kid.empty() && fitting == 1 ? only : nullptr;
}

bool verify_signature(const Jwk& key, const Jws& jws) {
    AlgInfo info = alg_info(jws.alg);
    if (!info.md || key.kty != info.kty) return false;
    std::string sig = jws.signature;
    if (info.ec_part > 0) {
        if (sig.size() != 2 * info.ec_part) return false;
        const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
        ossl::EcdsaSig es(ECDSA_SIG_new());
        ossl::Bn r(BN_bin2bn(raw, static_cast<int>(info.ec_part), nullptr));
        ossl::Bn s(BN_bin2bn(raw + info.ec_part, static_cast<int>(info.ec_part), nullptr));
        if (!es || !r || !s || ECDSA_SIG_set0(es.get(), r.get(), s.get()) != 1) return false;
        r.release();  // owned by `es` from here on
        s.release();
        unsigned char* der = nullptr;
        int len = i2d_ECDSA_SIG(es.get(), &der);
        if (len <= 0) return false;
        std::unique_ptr<unsigned char, void (*)(void*)> owned(der,
                                                              [](void* p) { OPENSSL_free(p); });
        sig.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    }
    ossl::MdCtx md(EVP_MD_CTX_new());
    if (!md || EVP_DigestVerifyInit(md.get(), nullptr, info.md, nullptr, key.key.get()) != 1)
        return false;
    return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(),
                            reinterpret_cast<const unsigned char*>(jws.signing_input.data()),
                            jws.signing_input.size()) == 1;
}

Result<json::Doc, IdTokenError> check_id_token(std::string_view token, const std::vector<Jwk>& keys,
                                               const IdTokenExpectations& expect) {
    auto jws = split_jws(token);
    if (!jws) return jws.error();
    if (!alg_info(jws->alg).md)
        return make_error(IdTokenError::bad_algorithm, "algorithm " + jws->alg);
    const Jwk* key = select_key(keys, *jws);
    if (!key) return make_error(IdTokenError::unknown_key, "no key for kid '" + jws->kid + "'");
    if (!verify_signature(*key, *jws)) return make_error(IdTokenError::bad_signature, "signature");

    const cJSON* c = jws->claims.get();
    auto bad = [](const char* what) { return make_error(IdTokenError::bad_claims, what); };
    std::string issuer = expect.issuer;
    if (auto at = issuer.find("{tenantid}"); at != std::string::npos) {
        std::string tid = str(c, "tid");
        if (tid.empty()) return bad("iss: no tid for the {tenantid} issuer");
        issuer.replace(at, 10, tid);
    }
    if (str(c, "iss") != issuer) return bad("iss");
    size_t audiences = 0;
    if (!audience_has(cJSON_GetObjectItemCaseSensitive(c, "aud"), expect.client_id, &audiences))
        return bad("aud");
    std::string azp = str(c, "azp");
    if ((audiences > 1 || !azp.empty()) && azp != expect.client_id) return bad("azp");
    const cJSON* exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
    if (!cJSON_IsNumber(exp) || !std::isfinite(exp->valuedouble) ||
        exp->valuedouble + static_cast<double>(expect.leeway_seconds) <=
            static_cast<double>(expect.now))
        return bad("exp");
    const cJSON* iat = cJSON_GetObjectItemCaseSensitive(c, "iat");
    if (cJSON_IsNumber(iat) &&
        (!std::isfinite(iat->valuedouble) ||
         iat->valuedouble > static_cast<double>(expect.now + expect.leeway_seconds)))
        return bad("iat");
    if (str(c, "sub").empty()) return bad("sub");
    const std::string nonce = str(c, "nonce");
    if (expect.nonce.empty() || nonce.size() != expect.nonce.size() ||
        sodium_memcmp(nonce.data(), expect.nonce.data(), nonce.size()) != 0)
        return bad("nonce");
    return std::move(jws->claims);
}

}  // namespace fu::oauth
