// The libsodium helpers: random tokens of any length, base64url round trips,
// and base64url_decode taking exactly what libsodium's decoder takes.
#include "wrap/sodium.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <optional>
#include <string>

namespace fu {
namespace {

// libsodium's answer, as base64url_decode must give it (URL-safe, no padding,
// nothing ignored, the whole input), except for bytes above 127: libsodium
// 1.0.18 reads every one of them as '_' (one value, 129 texts); they are
// refused.
std::optional<std::string> libsodium_decode(std::string_view in) {
    for (char c : in)
        if (static_cast<unsigned char>(c) > 127) return std::nullopt;
    std::string out(in.size() * 3 / 4 + 3, '\0');
    size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), in.data(),
                          in.size(), nullptr, &len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != in.data() + in.size())
        return std::nullopt;
    out.resize(len);
    return out;
}

}  // namespace

TEST(Sodium, RandomTokenHasTheRequestedLengthBeyondSixtyFourBytes) {
    ASSERT_GE(sodium_init(), 0);
    for (size_t n : {1u, 32u, 64u, 65u, 100u, 1000u}) {
        std::string token = sodium::random_token(n);
        auto raw = sodium::base64url_decode(token);
        ASSERT_TRUE(raw.has_value()) << n;
        EXPECT_EQ(raw->size(), n);
    }
    EXPECT_NE(sodium::random_token(100), sodium::random_token(100));
}

TEST(Sodium, Base64urlDecodeReadsBackWhatWasEncoded) {
    ASSERT_GE(sodium_init(), 0);
    for (size_t n = 0; n < 80; ++n) {
        std::string raw(n, '\0');
        randombytes_buf(raw.data(), n);
        auto text = sodium::base64url(reinterpret_cast<const unsigned char*>(raw.data()), n);
        EXPECT_EQ(sodium::base64url_decode(text), raw) << text;
    }
    EXPECT_EQ(sodium::base64url_decode("eyJhbGciOiJIUzI1NiJ9"), R"({"alg":"HS256"})");
    EXPECT_EQ(sodium::base64url_decode("_-8"), "\xff\xef");
}

TEST(Sodium, Base64urlDecodeRefusesWhatIsNotCanonicalUnpaddedBase64url) {
    ASSERT_GE(sodium_init(), 0);
    for (const char* bad :
         {"QR", "QUJ", "Q", "QUJDR", "QQ==", "QUI=", "a+b/", "QU I", "QU\nI", "QUI."})
        EXPECT_EQ(sodium::base64url_decode(bad), std::nullopt) << bad;
    EXPECT_EQ(sodium::base64url_decode(std::string_view("QU\0I", 4)), std::nullopt);
    EXPECT_EQ(sodium::base64url_decode(""), "");
}

// Every string of up to four characters over an alphabet with each class of
// character (both ends of each range, the two URL-safe signs, padding, the
// standard alphabet's signs, bytes above 127) and values whose low bits are
// set or not: the same verdict and bytes as libsodium.
TEST(Sodium, Base64urlDecodeAgreesWithLibsodiumOnEveryShortInput) {
    ASSERT_GE(sodium_init(), 0);
    const std::string alphabet("AZazBQgw09-_=+/ .\x7f\x80\xff\0", 21);
    std::string in;
    size_t checked = 0;
    auto visit = [&](auto&& self, size_t depth) -> void {
        EXPECT_EQ(sodium::base64url_decode(in), libsodium_decode(in)) << in;
        ++checked;
        if (::testing::Test::HasFailure()) return;  // one report, not thousands
        if (depth == 4) return;
        for (char c : alphabet) {
            in.push_back(c);
            self(self, depth + 1);
            in.pop_back();
        }
    };
    visit(visit, 0);
    EXPECT_EQ(checked, 1u + 21 + 21 * 21 + 21 * 21 * 21 + 21 * 21 * 21 * 21);
}

TEST(Sodium, Base64urlDecodeAgreesWithLibsodiumOnRandomInputs) {
    ASSERT_GE(sodium_init(), 0);
    const std::string alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    for (int i = 0; i < 20000; ++i) {
        std::string in(randombytes_uniform(70), '\0');
        for (char& c : in)  // mostly valid characters, so that long inputs get through too
            c = randombytes_uniform(50) == 0 ? static_cast<char>(randombytes_uniform(256))
                                             : alphabet[randombytes_uniform(64)];
        ASSERT_EQ(sodium::base64url_decode(in), libsodium_decode(in)) << in;
    }
}

}  // namespace fu
