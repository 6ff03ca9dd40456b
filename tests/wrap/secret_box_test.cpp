// SecretBox: what it seals opens under the same key only, and unaltered.
#include "wrap/secret_box.h"

#include <gtest/gtest.h>

namespace fu::sodium {

TEST(SecretBox, SealsAndOpensUnderTheSameKeyOnly) {
    ASSERT_GE(sodium_init(), 0);
    SecretBox box(std::string(48, 'k'));
    std::string token = "eyJhbGciOiJIUzI1NiJ9.payload.signature";
    std::string sealed = box.seal(token);
    EXPECT_TRUE(SecretBox::looks_sealed(sealed));
    EXPECT_EQ(sealed.find(token), std::string::npos);
    EXPECT_NE(box.seal(token), sealed);  // a fresh nonce each time
    EXPECT_EQ(box.open(sealed), token);
    EXPECT_EQ(SecretBox(std::string(48, 'o')).open(sealed), std::nullopt);
    std::string altered = sealed;
    altered[altered.size() - 5] = altered[altered.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_EQ(box.open(altered), std::nullopt);
    EXPECT_EQ(box.open(token), std::nullopt);
    EXPECT_EQ(box.open("v1."), std::nullopt);
    EXPECT_EQ(box.open(box.seal("")), "");
}

}  // namespace fu::sodium
