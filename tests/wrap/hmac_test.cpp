// HmacKey: RFC 4231's vectors, libsodium's answer for every key and message
// length around the block sizes, and one key read by many threads at once.
#include "wrap/hmac.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <thread>
#include <vector>

#include "wrap/sodium.h"

namespace fu {
namespace {

std::string hex(const std::string& bytes) {
    std::string out(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                   bytes.size());
    out.pop_back();
    return out;
}

std::string pattern(size_t n, unsigned seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 17 + 7) & 0xff);
    return s;
}

// libsodium's HMAC-SHA-512, the reference for the 128-byte block.
std::string libsodium_hmac_sha512(std::string_view key, std::string_view data) {
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, reinterpret_cast<const unsigned char*>(key.data()),
                                key.size());
    crypto_auth_hmacsha512_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                  data.size());
    std::string mac(crypto_auth_hmacsha512_BYTES, '\0');
    crypto_auth_hmacsha512_final(&st, reinterpret_cast<unsigned char*>(mac.data()));
    return mac;
}

struct Vector {
    std::string key, data, sha256, sha512;
};

// RFC 4231, test cases 1, 2 and 6 (a key longer than either block).
const std::vector<Vector> kRfc4231 = {
    {std::string(20, '\x0b'), "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    {"Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
};

}  // namespace

TEST(HmacKey, Rfc4231Vectors) {
    for (const Vector& v : kRfc4231) {
        EXPECT_EQ(hex(HmacKey(HmacKey::Hash::sha256, v.key).mac(v.data)), v.sha256) << v.data;
        EXPECT_EQ(hex(HmacKey(HmacKey::Hash::sha512, v.key).mac(v.data)), v.sha512) << v.data;
    }
}

// Keys of every length from none to past two blocks (a key of exactly one
// block is used as it is, one byte more is hashed first), and messages that
// end on either side of a block's end, reused for one key many times over.
TEST(HmacKey, AgreesWithLibsodiumForEveryKeyAndMessageLength) {
    for (size_t key_len = 0; key_len <= 260; ++key_len) {
        std::string key = pattern(key_len, static_cast<unsigned>(key_len));
        HmacKey k256(HmacKey::Hash::sha256, key);
        HmacKey k512(HmacKey::Hash::sha512, key);
        for (size_t len : {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{63}, size_t{64},
                           size_t{65}, size_t{111}, size_t{112}, size_t{127}, size_t{128},
                           size_t{129}, size_t{300}, key_len}) {
            std::string data = pattern(len, static_cast<unsigned>(len + 1));
            ASSERT_EQ(k256.mac(data), sodium::hmac_sha256(key, data))
                << "key " << key_len << " data " << len;
            ASSERT_EQ(k512.mac(data), libsodium_hmac_sha512(key, data))
                << "key " << key_len << " data " << len;
        }
    }
}

TEST(HmacKey, KnowsItsKey) {
    HmacKey k(HmacKey::Hash::sha256, std::string(32, 'k'));
    EXPECT_TRUE(k.has_key(SecretString(std::string(32, 'k'))));
    EXPECT_FALSE(k.has_key(SecretString(std::string(32, 'o'))));
    EXPECT_FALSE(k.has_key(SecretString(std::string(33, 'k'))));
    EXPECT_FALSE(k.has_key(SecretString()));
}

// Two keys shared by threads that alternate between them: each thread's own
// working state is filled from one key, then the other, never mixed.
TEST(HmacKey, ManyThreadsShareKeys) {
    const HmacKey a(HmacKey::Hash::sha256, std::string(32, 'a'));
    const HmacKey b(HmacKey::Hash::sha512, std::string(200, 'b'));
    const std::string data = pattern(280, 3);
    const std::string want_a = sodium::hmac_sha256(std::string(32, 'a'), data);
    const std::string want_b = libsodium_hmac_sha512(std::string(200, 'b'), data);
    std::vector<int> wrong(8, 0);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < wrong.size(); ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                if (a.mac(data) != want_a) ++wrong[t];
                if (b.mac(data) != want_b) ++wrong[t];
            }
        });
    for (auto& th : threads) th.join();
    for (int w : wrong) EXPECT_EQ(w, 0);
}

}  // namespace fu
