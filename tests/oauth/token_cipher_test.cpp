// Provider tokens sealed at rest: round trip, tampering, another key.
#include "oauth/token_cipher.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace fu::oauth {
namespace {

TEST(TokenCipher, RoundTripOfATokenPast4KiB) {
    ASSERT_GE(sodium_init(), 0);
    TokenCipher c(SecretString(std::string(40, 'k')));
    std::string token(5000, 't');
    std::string sealed = c.seal(token);
    EXPECT_EQ(sealed.rfind("v1.", 0), 0u);
    EXPECT_EQ(sealed.find("tttt"), std::string::npos);
    EXPECT_NE(c.seal(token), sealed);  // a fresh nonce each time
    EXPECT_EQ(c.open(sealed), token);
}

TEST(TokenCipher, AlteredOrForeignTextDoesNotOpen) {
    ASSERT_GE(sodium_init(), 0);
    TokenCipher c(SecretString(std::string(40, 'k'))), other(SecretString(std::string(40, 'o')));
    std::string sealed = c.seal("access-token");
    std::string flipped = sealed;
    flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(c.open(flipped));
    EXPECT_FALSE(other.open(sealed));
    EXPECT_FALSE(c.open("access-token"));
    EXPECT_FALSE(c.open("v1."));
}

}  // namespace
}  // namespace fu::oauth
