// Id tokens signed here with fresh RSA and EC keys, published as a JWKS the
// way a provider does, then checked: signature, key choice, claims.
#include "oauth/id_token.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include <ctime>

#include "wrap/sodium.h"

namespace fu::oauth {
namespace {

std::string b64(const std::string& s) {
    return sodium::base64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

std::string bn_b64(const EVP_PKEY* key, const char* name) {
    BIGNUM* bn = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
    std::string raw(static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(raw.data()));
    BN_free(bn);
    return b64(raw);
}

struct Signer {
    ossl::Pkey key;
    std::string kid, alg;

    std::string jwk() const {
        if (alg == "RS256")
            return R"({"kty":"RSA","use":"sig","kid":")" + kid + R"(","n":")" +
                   bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_N) + R"(","e":")" +
                   bn_b64(key.get(), OSSL_PKEY_PARAM_RSA_E) + R"("})";
        unsigned char pub[65];
        size_t len = 0;
        EXPECT_EQ(EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, pub,
                                                  sizeof pub, &len),
                  1);
        std::string p(reinterpret_cast<char*>(pub), len);
        return R"({"kty":"EC","crv":"P-256","kid":")" + kid + R"(","x":")" + b64(p.substr(1, 32)) +
               R"(","y":")" + b64(p.substr(33, 32)) + R"("})";
    }

    // header_extra: more members of the header, after a comma.
    std::string sign(const std::string& claims, const std::string& header_alg = "",
                     const std::string& header_extra = "") const {
        std::string head = R"({"alg":")" + (header_alg.empty() ? alg : header_alg) +
                           R"(","kid":")" + kid + R"(")" +
                           (header_extra.empty() ? "" : "," + header_extra) + "}";
        std::string input = b64(head) + "." + b64(claims);
        ossl::MdCtx md(EVP_MD_CTX_new());
        EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get());
        size_t len = 0;
        EVP_DigestSign(md.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
        std::string sig(len, '\0');
        EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
        sig.resize(len);
        if (alg == "ES256") {  // DER to the r||s of JWS
            const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
            ossl::EcdsaSig es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
            std::string rs(64, '\0');
            BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), reinterpret_cast<unsigned char*>(rs.data()),
                         32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es.get()),
                         reinterpret_cast<unsigned char*>(rs.data()) + 32, 32);
            sig = rs;
        }
        return input + "." + b64(sig);
    }
};

Signer rsa(const std::string& kid) {
    return {ossl::Pkey(EVP_RSA_gen(2048)), kid, "RS256"};
}
Signer ec(const std::string& kid) {
    return {ossl::Pkey(EVP_EC_gen("P-256")), kid, "ES256"};
}

std::string claims(const std::string& extra = "", long exp_in = 300) {
    long now = static_cast<long>(std::time(nullptr));
    std::string c =
        R"({"iss":"https://id.example","aud":"client-1","sub":"user-42","nonce":"n-123","iat":)" +
        std::to_string(now) + R"(,"exp":)" + std::to_string(now + exp_in) + extra + "}";
    return c;
}

IdTokenExpectations expect() {
    return {"https://id.example", "client-1", "n-123", std::time(nullptr)};
}

std::vector<Jwk> jwks(std::initializer_list<const Signer*> signers) {
    std::string doc = R"({"keys":[)";
    bool first = true;
    for (const Signer* s : signers) {
        doc += (first ? "" : ",") + s->jwk();
        first = false;
    }
    auto keys = parse_jwks(doc + "]}");
    EXPECT_TRUE(keys);
    return *keys;
}

class IdToken : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(IdToken, Rs256AndEs256FromTheJwksVerify) {
    Signer r = rsa("r1"), e = ec("e1");
    auto keys = jwks({&r, &e});
    ASSERT_EQ(keys.size(), 2u);
    auto a = check_id_token(r.sign(claims()), keys, expect());
    ASSERT_TRUE(a) << a.error().detail;
    EXPECT_EQ(std::string(cJSON_GetObjectItem(a->get(), "sub")->valuestring), "user-42");
    auto b = check_id_token(e.sign(claims()), keys, expect());
    ASSERT_TRUE(b) << b.error().detail;
}

TEST_F(IdToken, AFlippedSignatureByteFails) {
    Signer r = rsa("r1");
    std::string token = r.sign(claims());
    token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
    auto out = check_id_token(token, jwks({&r}), expect());
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, IdTokenError::bad_signature);
}

TEST_F(IdToken, AnotherProvidersKeyWithTheSameKidFails) {
    Signer mine = rsa("k"), theirs = rsa("k");
    auto out = check_id_token(theirs.sign(claims()), jwks({&mine}), expect());
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, IdTokenError::bad_signature);
}

TEST_F(IdToken, AnUnknownKidAsksForARefetch) {
    Signer known = rsa("old"), rotated = rsa("new");
    auto out = check_id_token(rotated.sign(claims()), jwks({&known}), expect());
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, IdTokenError::unknown_key);
}

TEST_F(IdToken, KeySelectionFollowsKidAndKeyType) {
    Signer r1 = rsa("r1"), r2 = rsa("r2"), e = ec("e1");
    auto keys = jwks({&r1, &r2, &e});
    auto jws = split_jws(r2.sign(claims()));
    ASSERT_TRUE(jws);
    const Jwk* k = select_key(keys, *jws);
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->kid, "r2");
    // An ES256 header naming an RSA key's kid finds no key.
    jws->alg = "ES256";
    jws->kid = "r1";
    EXPECT_EQ(select_key(keys, *jws), nullptr);
}

// Refused as algorithms, not signatures: no key of a refetched JWKS could
// verify them, so they ask for no refetch.
TEST_F(IdToken, NoneAndHmacAlgorithmsAreRefused) {
    Signer r = rsa("r1");
    auto keys = jwks({&r});
    std::string none = b64(R"({"alg":"none"})") + "." + b64(claims()) + ".";
    EXPECT_EQ(check_id_token(none, keys, expect()).error().code, IdTokenError::bad_algorithm);
    std::string hs = b64(R"({"alg":"HS256","kid":"r1"})") + "." + b64(claims()) + "." + b64("mac");
    EXPECT_EQ(check_id_token(hs, keys, expect()).error().code, IdTokenError::bad_algorithm);
}

// Each malformed token says what is wrong with it (the log line's reason).
TEST_F(IdToken, MalformedTokensSayWhy) {
    Signer r = rsa("r1");
    auto keys = jwks({&r});
    auto why = [&](const std::string& token) {
        auto out = check_id_token(token, keys, expect());
        EXPECT_FALSE(out);
        EXPECT_EQ(out.error().code, IdTokenError::malformed);
        return out.error().detail;
    };
    EXPECT_EQ(why("a.b"), "not three base64url parts");
    EXPECT_EQ(why(b64("[1]") + "." + b64(claims()) + "." + b64("s")),
              "header or claims not a JSON object");
    EXPECT_EQ(why(r.sign(claims(), "", R"("crit":["b64"],"b64":true)")), "crit header");
    // As PyJWT: a kid is a string.
    std::string numeric_kid =
        b64(R"({"alg":"RS256","kid":1})") + "." + b64(claims()) + "." + b64("s");
    EXPECT_EQ(why(numeric_kid), "kid not a string");
}

// 1e400 reads as infinity: no id token lives forever, nor is issued at it.
TEST_F(IdToken, NumbersPastJsonsRangeAreNoTimes) {
    Signer r = rsa("r1");
    auto keys = jwks({&r});
    long now = static_cast<long>(std::time(nullptr));
    std::string base = R"({"iss":"https://id.example","aud":"client-1","sub":"u","nonce":"n-123",)";
    auto refused = [&](const std::string& claims_json) {
        auto out = check_id_token(r.sign(claims_json), keys, expect());
        return !out && out.error().code == IdTokenError::bad_claims;
    };
    EXPECT_FALSE(refused(base + R"("exp":)" + std::to_string(now + 300) + "}"));
    EXPECT_TRUE(refused(base + R"("exp":1e400})"));
    EXPECT_TRUE(refused(base + R"("exp":)" + std::to_string(now + 300) + R"(,"iat":-1e400})"));
}

TEST_F(IdToken, WrongIssuerAudienceNonceOrExpiryIsRefused) {
    Signer r = rsa("r1");
    auto keys = jwks({&r});
    long now = static_cast<long>(std::time(nullptr));
    struct Case {
        std::string claims;
        const char* what;
    } cases[] = {
        {R"({"iss":"https://evil.example","aud":"client-1","sub":"u","nonce":"n-123","exp":)" +
             std::to_string(now + 300) + "}",
         "iss"},
        {R"({"iss":"https://id.example","aud":"client-2","sub":"u","nonce":"n-123","exp":)" +
             std::to_string(now + 300) + "}",
         "aud"},
        {R"({"iss":"https://id.example","aud":["client-1","other"],"sub":"u","nonce":"n-123","exp":)" +
             std::to_string(now + 300) + "}",
         "azp"},
        // OIDC Core 2: aud is a string or an array of strings.
        {R"({"iss":"https://id.example","aud":["client-1",7],"azp":"client-1","sub":"u","nonce":"n-123","exp":)" +
             std::to_string(now + 300) + "}",
         "aud"},
        {R"({"iss":"https://id.example","aud":"client-1","sub":"u","nonce":"n-999","exp":)" +
             std::to_string(now + 300) + "}",
         "nonce"},
        {R"({"iss":"https://id.example","aud":"client-1","sub":"u","exp":)" +
             std::to_string(now + 300) + "}",
         "nonce"},
        {R"({"iss":"https://id.example","aud":"client-1","sub":"u","nonce":"n-123","exp":)" +
             std::to_string(now - 120) + "}",
         "exp"},
        {R"({"iss":"https://id.example","aud":"client-1","sub":"u","nonce":"n-123","exp":"soon"})",
         "exp"},
        {R"({"iss":"https://id.example","aud":"client-1","nonce":"n-123","exp":)" +
             std::to_string(now + 300) + "}",
         "sub"},
    };
    for (const auto& c : cases) {
        auto out = check_id_token(r.sign(c.claims), keys, expect());
        ASSERT_FALSE(out) << c.what;
        EXPECT_EQ(out.error().code, IdTokenError::bad_claims) << c.what;
        EXPECT_EQ(out.error().detail.substr(0, std::string(c.what).size()), c.what);
    }
}

// RFC 7515 4.1.11: a header naming critical extensions is refused, since
// none is understood here, whatever it names.
TEST_F(IdToken, CriticalHeaderExtensionsAreRefused) {
    Signer r = rsa("r1");
    auto keys = jwks({&r});
    EXPECT_TRUE(check_id_token(r.sign(claims(), "", R"("b64":true)"), keys, expect()));
    for (const char* crit : {R"("crit":["b64"],"b64":true)", R"("crit":["exp"],"exp":1)",
                             R"("crit":[])", R"("crit":null)"}) {
        auto out = check_id_token(r.sign(claims(), "", crit), keys, expect());
        ASSERT_FALSE(out) << crit;
        EXPECT_EQ(out.error().code, IdTokenError::malformed) << crit;
    }
}

TEST_F(IdToken, MicrosoftTenantTemplateIsFilledFromTid) {
    Signer r = rsa("r1");
    auto keys = jwks({&r});
    IdTokenExpectations e = expect();
    e.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0";
    long now = static_cast<long>(std::time(nullptr));
    std::string good =
        R"({"iss":"https://login.microsoftonline.com/t-1/v2.0","tid":"t-1","aud":"client-1","sub":"u","nonce":"n-123","exp":)" +
        std::to_string(now + 300) + "}";
    EXPECT_TRUE(check_id_token(r.sign(good), keys, e));
    std::string other =
        R"({"iss":"https://login.microsoftonline.com/t-2/v2.0","tid":"t-1","aud":"client-1","sub":"u","nonce":"n-123","exp":)" +
        std::to_string(now + 300) + "}";
    EXPECT_FALSE(check_id_token(r.sign(other), keys, e));
}

TEST_F(IdToken, MalformedTokensAndJwksAreErrorsNotCrashes) {
    Signer r = rsa("r1");
    auto keys = jwks({&r});
    for (std::string t :
         {std::string(""), std::string("a.b"), std::string("a.b.c.d"), std::string("!!.??.**"),
          b64("[]") + "." + b64("{}") + ".", std::string(20000, 'a') + ".b.c"})
        EXPECT_EQ(check_id_token(t, keys, expect()).error().code, IdTokenError::malformed)
            << t.substr(0, 20);
    EXPECT_FALSE(parse_jwks("not json"));
    EXPECT_FALSE(parse_jwks(R"({"keys": 3})"));
    auto skipped = parse_jwks(
        R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-521"},{"kty":"oct","k":"x"},7]})");
    ASSERT_TRUE(skipped);
    EXPECT_TRUE(
        skipped->empty());  // a tiny RSA modulus, an unknown curve, a symmetric key: none usable
}

}  // namespace
}  // namespace fu::oauth
