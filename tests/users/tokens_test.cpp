// JWTs: round trips, and every token libjwt alone would have accepted.
#include "users/tokens.h"

#include <gtest/gtest.h>
#include <jwt.h>
#include <sodium.h>

#include <ctime>

#include "wrap/jwt.h"
#include "wrap/sodium.h"

namespace fu {
namespace {

const SecretString kKey(std::string(32, 'k'));
const SecretString kOtherKey(std::string(32, 'o'));

json::Doc access_claims(const char* sub = "57cbb51a-ab71-4009-8802-3f54b4f2e23b") {
    json::Doc c(cJSON_CreateObject());
    cJSON_AddStringToObject(c.get(), "sub", sub);
    cJSON* aud = cJSON_AddArrayToObject(c.get(), "aud");
    cJSON_AddItemToArray(aud, cJSON_CreateString("fastapi-users:auth"));
    return c;
}

// A token signed by hand with libjwt, for the cases our encoder never makes.
std::string raw_token(jwt_alg_t alg, const SecretString* key, const std::string& grants_json) {
    jwt_t* raw = nullptr;
    jwt_new(&raw);
    jwt::Token t(raw);
    jwt_add_grants_json(t.get(), grants_json.c_str());
    jwt_set_alg(t.get(), alg, key ? key->bytes() : nullptr,
                key ? static_cast<int>(key->size()) : 0);
    jwt::Str s(jwt_encode_str(t.get()));
    return s.get();
}

std::string future() {
    return std::to_string(std::time(nullptr) + 600);
}

std::string from_now(long seconds) {
    return std::to_string(std::time(nullptr) + seconds);
}

// A token whose header and payload are exactly these bytes, HS256-signed.
std::string hand_signed(const std::string& header, const std::string& payload) {
    auto b64 = [](const std::string& s) {
        return sodium::base64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
    };
    std::string signing = b64(header) + "." + b64(payload);
    std::string mac = sodium::hmac_sha256(kKey.view(), signing);
    return signing + "." + b64(mac);
}

}  // namespace

TEST(JwtCodec, RoundTripWithListAudience) {
    JwtCodec codec("HS256");
    std::string t = codec.encode(kKey, access_claims().get(), 3600);
    auto claims = codec.decode(t, kKey, "fastapi-users:auth");
    ASSERT_TRUE(claims);
    EXPECT_EQ(claim_string(claims->get(), "sub"), "57cbb51a-ab71-4009-8802-3f54b4f2e23b");
}

TEST(JwtCodec, StringAudienceIsAccepted) {
    JwtCodec codec("HS256");
    std::string t = raw_token(JWT_ALG_HS256, &kKey,
                              R"({"sub":"x","aud":"fastapi-users:reset","exp":)" + future() + "}");
    EXPECT_TRUE(codec.decode(t, kKey, "fastapi-users:reset"));
}

// As PyJWT: an audience list holding anything but strings is no audience
// ("Invalid claim format in token"), even with ours in it.
TEST(JwtCodec, AnAudienceListOfStringsOnly) {
    JwtCodec codec("HS256");
    auto accepts = [&](const std::string& aud) {
        std::string claims = R"({"sub":"x","aud":)" + aud + R"(,"exp":)" + future() + "}";
        return static_cast<bool>(codec.decode(hand_signed(R"({"alg":"HS256","typ":"JWT"})", claims),
                                              kKey, "fastapi-users:auth"));
    };
    EXPECT_TRUE(accepts(R"(["other","fastapi-users:auth"])"));
    EXPECT_FALSE(accepts(R"(["fastapi-users:auth",1])"));
    EXPECT_FALSE(accepts(R"(["fastapi-users:auth",null])"));
    EXPECT_FALSE(accepts(R"([["fastapi-users:auth"],"fastapi-users:auth"])"));
    EXPECT_FALSE(accepts(R"([])"));
    EXPECT_FALSE(accepts(R"({"aud":"fastapi-users:auth"})"));
}

// 1e400 reads as infinity: a token that never expires (PyJWT fails on it),
// or one valid from or issued at an infinite time, is refused.
TEST(JwtCodec, TimesAreFiniteNumbers) {
    JwtCodec codec("HS256");
    auto accepts = [&](const std::string& times) {
        std::string claims = R"({"sub":"x","aud":"fastapi-users:auth",)" + times + "}";
        return static_cast<bool>(codec.decode(hand_signed(R"({"alg":"HS256","typ":"JWT"})", claims),
                                              kKey, "fastapi-users:auth"));
    };
    EXPECT_TRUE(accepts(R"("exp":)" + future()));
    EXPECT_FALSE(accepts(R"("exp":1e400)"));
    EXPECT_FALSE(accepts(R"("exp":)" + future() + R"(,"nbf":-1e400)"));
    EXPECT_FALSE(accepts(R"("exp":)" + future() + R"(,"iat":-1e400)"));
}

TEST(JwtCodec, RefusesWhatLibjwtWouldAccept) {
    JwtCodec codec("HS256");
    std::string good = R"({"sub":"x","aud":["fastapi-users:auth"],"exp":)" + future() + "}";
    EXPECT_TRUE(codec.decode(raw_token(JWT_ALG_HS256, &kKey, good), kKey, "fastapi-users:auth"));
    // Another HMAC algorithm with the right key.
    EXPECT_FALSE(codec.decode(raw_token(JWT_ALG_HS512, &kKey, good), kKey, "fastapi-users:auth"));
    // alg none.
    EXPECT_FALSE(codec.decode(raw_token(JWT_ALG_NONE, nullptr, good), kKey, "fastapi-users:auth"));
    // Another secret.
    EXPECT_FALSE(
        codec.decode(raw_token(JWT_ALG_HS256, &kOtherKey, good), kKey, "fastapi-users:auth"));
    // Expired, missing exp, exp not a number.
    EXPECT_FALSE(
        codec.decode(raw_token(JWT_ALG_HS256, &kKey, R"({"aud":"fastapi-users:auth","exp":1000})"),
                     kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(raw_token(JWT_ALG_HS256, &kKey, R"({"aud":"fastapi-users:auth"})"),
                              kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(
        raw_token(JWT_ALG_HS256, &kKey, R"({"aud":"fastapi-users:auth","exp":"9999999999"})"), kKey,
        "fastapi-users:auth"));
    // Missing or wrong audience.
    EXPECT_FALSE(codec.decode(raw_token(JWT_ALG_HS256, &kKey, R"({"exp":)" + future() + "}"), kKey,
                              "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(raw_token(JWT_ALG_HS256, &kKey, good), kKey, "fastapi-users:reset"));
}

TEST(JwtCodec, TamperedAndMalformedTokens) {
    JwtCodec codec("HS256");
    std::string t = codec.encode(kKey, access_claims().get(), 3600);
    std::string flipped = t;
    flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(codec.decode(flipped, kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode("", kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode("a.b", kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode("a.b.c", kKey, "fastapi-users:auth"));
    EXPECT_FALSE(
        codec.decode(std::string(16 * 1024 * 1024, 'a') + ".b.c", kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(t, SecretString(), "fastapi-users:auth"));
}

}  // namespace fu

namespace fu {

TEST(JwtCodec, Hs512WhenConfigured) {
    JwtCodec codec("HS512");
    std::string t = codec.encode(kKey, access_claims().get(), 60);
    EXPECT_TRUE(codec.decode(t, kKey, "fastapi-users:auth"));
    std::string hs256 = JwtCodec("HS256").encode(kKey, access_claims().get(), 60);
    EXPECT_FALSE(codec.decode(hs256, kKey, "fastapi-users:auth"));
}

TEST(JwtCodec, RefusesNonCanonicalEncodings) {
    JwtCodec codec("HS256");
    std::string t = codec.encode(kKey, access_claims().get(), 60);
    EXPECT_FALSE(codec.decode(t + "=", kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(" " + t, kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(t + ".x", kKey, "fastapi-users:auth"));
    std::string no_sig = t.substr(0, t.rfind('.') + 1);
    EXPECT_FALSE(codec.decode(no_sig, kKey, "fastapi-users:auth"));
}

// libsodium's decoder (1.0.18) reads any byte above 127 as '_': a token with
// '_' in its signature (the part compared after decoding; the other two are
// signed as text) had 129 texts that all passed. One text per token.
TEST(JwtCodec, RefusesBytesAboveAsciiForUnderscore) {
    JwtCodec codec("HS256");
    std::string t;
    for (int i = 0; t.find('_', t.rfind('.') + 1) == std::string::npos; ++i)
        t = codec.encode(kKey, access_claims(("user-" + std::to_string(i)).c_str()).get(), 60);
    ASSERT_TRUE(codec.decode(t, kKey, "fastapi-users:auth"));
    for (char other : {'\x80', '\xbf', '\xff'}) {
        std::string variant = t;
        variant[t.find('_', t.rfind('.') + 1)] = other;
        EXPECT_FALSE(codec.decode(variant, kKey, "fastapi-users:auth")) << int(other);
    }
}

TEST(JwtCodec, NotBeforeAndIssuedAtAsPyJwt) {
    JwtCodec codec("HS256");
    auto token = [](const std::string& extra) {
        return raw_token(
            JWT_ALG_HS256, &kKey,
            R"({"sub":"x","aud":"fastapi-users:auth","exp":)" + future() + extra + "}");
    };
    EXPECT_TRUE(codec.decode(token(",\"nbf\":" + from_now(-10)), kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(token(",\"nbf\":" + from_now(120)), kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(token(",\"nbf\":\"0\""), kKey, "fastapi-users:auth"));
    EXPECT_TRUE(codec.decode(token(",\"iat\":" + from_now(0)), kKey, "fastapi-users:auth"));
    EXPECT_TRUE(codec.decode(token(",\"iat\":" + from_now(5)), kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(token(",\"iat\":" + from_now(3600)), kKey, "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(token(",\"iat\":\"now\""), kKey, "fastapi-users:auth"));
}

TEST(JwtCodec, RefusesDuplicateClaims) {
    JwtCodec codec("HS256");
    std::string header = R"({"alg":"HS256","typ":"JWT"})";
    std::string claims = R"("aud":"fastapi-users:auth","exp":)" + future();
    EXPECT_TRUE(codec.decode(hand_signed(header, R"({"sub":"a",)" + claims + "}"), kKey,
                             "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(hand_signed(header, R"({"sub":"a","sub":"b",)" + claims + "}"), kKey,
                              "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(hand_signed(header, R"({"sub":"a",)" + claims + R"(,"exp":1})"), kKey,
                              "fastapi-users:auth"));
    EXPECT_FALSE(codec.decode(
        hand_signed(R"({"alg":"HS256","alg":"HS256"})", R"({"sub":"a",)" + claims + "}"), kKey,
        "fastapi-users:auth"));
}

}  // namespace fu

namespace fu {

// The usual header is recognised as text; every other spelling is still
// decoded and read, so it passes or fails on its `alg` as before.
TEST(JwtCodec, EveryHeaderSpellingIsReadForItsAlgorithm) {
    JwtCodec codec("HS256");
    std::string claims = R"({"sub":"a","aud":"fastapi-users:auth","exp":)" + future() + "}";
    auto accepts = [&](const std::string& header) {
        return static_cast<bool>(
            codec.decode(hand_signed(header, claims), kKey, "fastapi-users:auth"));
    };
    EXPECT_TRUE(accepts(R"({"alg":"HS256","typ":"JWT"})"));
    EXPECT_TRUE(accepts(R"({"alg": "HS256", "typ": "JWT"})"));
    EXPECT_TRUE(accepts(R"({"typ":"JWT","alg":"HS256"})"));
    EXPECT_TRUE(accepts(R"({"alg":"HS256"})"));
    EXPECT_TRUE(accepts(R"({"alg":"HS256","typ":"JWT","kid":"1"})"));
    EXPECT_FALSE(accepts(R"({"alg":"HS512","typ":"JWT"})"));
    EXPECT_FALSE(accepts(R"({"alg":"none","typ":"JWT"})"));
    EXPECT_FALSE(accepts(R"({"alg":"HS256","typ":"JWT","alg":"none"})"));
    EXPECT_FALSE(accepts(R"({"typ":"JWT"})"));
    EXPECT_FALSE(accepts(R"(["HS256"])"));
    EXPECT_FALSE(accepts("not json"));
    // As PyJWT: a kid is a string.
    EXPECT_TRUE(accepts(R"({"alg":"HS256","typ":"JWT","kid":"k1"})"));
    EXPECT_FALSE(accepts(R"({"alg":"HS256","typ":"JWT","kid":1})"));
    EXPECT_FALSE(accepts(R"({"alg":"HS256","typ":"JWT","kid":null})"));
    // RFC 7515 4.1.11: critical extensions must be understood; none is.
    EXPECT_FALSE(accepts(R"({"alg":"HS256","typ":"JWT","crit":["b64"],"b64":false})"));
    EXPECT_FALSE(accepts(R"({"alg":"HS256","crit":[]})"));
    // The usual header of another algorithm is no shortcut for this one.
    EXPECT_FALSE(JwtCodec("HS512").decode(hand_signed(R"({"alg":"HS256","typ":"JWT"})", claims),
                                          kKey, "fastapi-users:auth"));
}

}  // namespace fu

namespace fu {

// The keys given at construction are checked through their prepared states,
// any other through states computed for the call: the same verdicts.
TEST(JwtCodec, PreparedAndOtherKeysGiveTheSameVerdicts) {
    JwtCodec plain("HS256");
    JwtCodec prepared("HS256", {kOtherKey, kKey});
    JwtCodec other("HS256", {kOtherKey});
    std::string good = plain.encode(kKey, access_claims().get(), 3600);
    std::string foreign = plain.encode(kOtherKey, access_claims().get(), 3600);
    std::string unsigned_part = good.substr(0, good.rfind('.') + 1);
    for (const JwtCodec* codec : {&plain, &prepared, &other}) {
        EXPECT_TRUE(codec->decode(good, kKey, "fastapi-users:auth"));
        EXPECT_FALSE(codec->decode(foreign, kKey, "fastapi-users:auth"));
        EXPECT_TRUE(codec->decode(foreign, kOtherKey, "fastapi-users:auth"));
        EXPECT_FALSE(codec->decode(unsigned_part, kKey, "fastapi-users:auth"));
        EXPECT_FALSE(codec->decode(unsigned_part + "AAAA", kKey, "fastapi-users:auth"));
    }
    JwtCodec hs512("HS512", {kKey});
    std::string long_mac = hs512.encode(kKey, access_claims().get(), 3600);
    EXPECT_TRUE(hs512.decode(long_mac, kKey, "fastapi-users:auth"));
    EXPECT_FALSE(prepared.decode(long_mac, kKey, "fastapi-users:auth"));
}

}  // namespace fu
