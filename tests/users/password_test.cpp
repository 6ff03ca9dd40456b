// Hashing and verification, rehash both ways, FastAPI Users' hashes, policy.
#include "users/password.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace fu {
namespace {

class PasswordTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
    PasswordHasher hasher{19456, 2, 1};
};

}  // namespace

TEST_F(PasswordTest, HashVerifiesAndAFlippedByteFails) {
    std::string h = hasher.hash("guinevere-forever");
    EXPECT_EQ(h.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << h;
    auto ok = hasher.verify("guinevere-forever", h);
    EXPECT_TRUE(ok.ok);
    EXPECT_FALSE(ok.needs_rehash);
    EXPECT_FALSE(hasher.verify("guinevere-forevex", h).ok);
    std::string tampered = h;
    tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(hasher.verify("guinevere-forever", tampered).ok);
}

TEST_F(PasswordTest, OtherParametersNeedARehashBothWays) {
    PasswordHasher weaker(8192, 1, 1);
    std::string weak = weaker.hash("lancelot");
    auto v = hasher.verify("lancelot", weak);
    EXPECT_TRUE(v.ok);
    EXPECT_TRUE(v.needs_rehash);
    auto back = weaker.verify("lancelot", hasher.hash("lancelot"));
    EXPECT_TRUE(back.ok);
    EXPECT_TRUE(back.needs_rehash);
}

TEST_F(PasswordTest, FastApiUsersArgon2HashWithFourLanes) {
    // "password" with argon2-cffi's defaults (pwdlib, FastAPI Users 13): m=64 MiB, t=3, p=4,
    // made by the reference argon2 command-line tool.
    const std::string h =
        "$argon2id$v=19$m=65536,t=3,p=4$YzI5dFpYTmhiSFJ6WVd4MA$QSlmNLKDU2e4xk0b4iiz+M538/"
        "Y5Dr95GtwBPtvsybQ";
    auto v = hasher.verify("password", h);
    EXPECT_TRUE(v.ok);
    EXPECT_TRUE(v.needs_rehash);
    EXPECT_FALSE(hasher.verify("Password", h).ok);
}

TEST_F(PasswordTest, BcryptFromPasslib) {
    // bcrypt $2b$ of "password", cost 12, as passlib wrote it for FastAPI Users before 13.
    const std::string h = "$2b$12$J/ZLTnfgr8c4kwf1EbgUTe37DnsUoiYHtjz7NDzLobPC8Y38ABAD2";
    auto v = hasher.verify("password", h);
    EXPECT_TRUE(v.ok);
    EXPECT_TRUE(v.needs_rehash);
    EXPECT_FALSE(hasher.verify("passwore", h).ok);
}

TEST_F(PasswordTest, UnknownSchemesNeverVerify) {
    EXPECT_FALSE(hasher.verify("x", "").ok);
    EXPECT_FALSE(hasher.verify("x", "plaintext").ok);
    EXPECT_FALSE(hasher.verify("x", "$1$abc$def").ok);
}

TEST(PasswordPolicy, LengthAndEmail) {
    EXPECT_FALSE(password_problem("abcdefgh", "a@b.c", 8, 128).has_value());
    EXPECT_TRUE(password_problem("abcdefg", "a@b.c", 8, 128).has_value());
    EXPECT_TRUE(password_problem(std::string(129, 'x'), "a@b.c", 8, 128).has_value());
    EXPECT_FALSE(password_problem(std::string(128, 'x'), "a@b.c", 8, 128).has_value());
    EXPECT_TRUE(password_problem("my King.Arthur@Camelot.bt!", "king.arthur@camelot.bt", 8, 128)
                    .has_value());
    // Eight characters, sixteen bytes: characters count.
    EXPECT_FALSE(password_problem("éééééééé", "a@b.c", 8, 8).has_value());
}

}  // namespace fu
