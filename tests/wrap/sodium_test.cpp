// The libsodium helpers: random tokens of any length, base64url round trips.
#include "wrap/sodium.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace fu {

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

}  // namespace fu
