// libsodium's argon2 memory on huge pages (users/hash_memory.h): the mapping
// a hash asks for comes through fcgi-users' mmap, starts on a 2 MiB boundary,
// is advised huge pages and populated whole; other mappings are left alone;
// and the hash is the same as on libsodium's own mapping.
#include "users/hash_memory.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "users/password.h"

namespace fu {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

struct MappingFacts {
    bool found = false;
    uintptr_t end = 0;
    std::string flags;  // smaps' VmFlags: "hg" is MADV_HUGEPAGE
};

// How many of the pages of [p, p + length) are in memory. mincore, not smaps'
// Rss: the kernel may merge a new mapping with a neighbour's entry.
size_t resident_pages(void* p, size_t length) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> in((length + page - 1) / page);
    if (mincore(p, length, in.data()) != 0) return SIZE_MAX;
    size_t n = 0;
    for (unsigned char c : in) n += c & 1;
    return n;
}

// The /proc/self/smaps entry that starts at `p`.
MappingFacts facts_of(const void* p) {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    MappingFacts f;
    const uintptr_t want = reinterpret_cast<uintptr_t>(p);
    while (std::getline(smaps, line)) {
        unsigned long long start = 0, end = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx ", &start, &end) == 2) {  // an entry's first line
            if (f.found) break;                                            // the next entry
            if (start == want) {
                f.found = true;
                f.end = end;
            }
            continue;
        }
        if (!f.found) continue;
        if (line.rfind("VmFlags:", 0) == 0) f.flags = line.substr(8) + " ";
    }
    return f;
}

class HashMemoryTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ASSERT_GE(sodium_init(), 0);
        hash_memory::enable();
    }
};

}  // namespace

TEST_F(HashMemoryTest, APopulatedMappingOfHashSizeIsAlignedAdvisedAndWhole) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t length = 5 * (size_t{1} << 20) + 3 * page;  // not a multiple of 2 MiB
    unsigned long before = hash_memory::advised();
    void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_EQ(hash_memory::advised(), before + 1);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHugePage, 0u);
    MappingFacts f = facts_of(p);
    ASSERT_TRUE(f.found);
    // Exactly what was asked: the room taken to align it was given back.
    EXPECT_EQ(f.end - reinterpret_cast<uintptr_t>(p), length);
    EXPECT_NE(f.flags.find(" hg "), std::string::npos) << f.flags;
    EXPECT_EQ(resident_pages(p, length), length / page) << "populated, as MAP_POPULATE asks";
    static_cast<unsigned char*>(p)[0] = 1;
    static_cast<unsigned char*>(p)[length - 1] = 2;
    ASSERT_EQ(munmap(p, length), 0);
    EXPECT_FALSE(facts_of(p).found);
}

TEST_F(HashMemoryTest, OtherMappingsAreLeftAsAsked) {
    const size_t big = 4 * (size_t{1} << 20), small = 64 * 1024;
    unsigned long before = hash_memory::advised();
    void* lazy = mmap(nullptr, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* little = mmap(nullptr, small, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    ASSERT_NE(lazy, MAP_FAILED);
    ASSERT_NE(little, MAP_FAILED);
    EXPECT_EQ(hash_memory::advised(), before);
    for (void* p : {lazy, little}) {
        MappingFacts f = facts_of(p);
        if (f.found) {
            EXPECT_EQ(f.flags.find(" hg "), std::string::npos) << f.flags;
        }
    }
    EXPECT_EQ(resident_pages(lazy, big), 0u) << "not populated: nobody asked";
    EXPECT_EQ(resident_pages(little, small), small / static_cast<size_t>(sysconf(_SC_PAGESIZE)))
        << "populated, as asked";
    munmap(lazy, big);
    munmap(little, small);
}

TEST_F(HashMemoryTest, LibsodiumsHashingComesThroughAndHashesTheSame) {
    // Argon2id of a fixed salt with 8 MiB and two passes, as libsodium computes
    // it on its own mapping (a program without fcgi-users' mmap).
    unsigned char out[32], salt[16];
    for (int i = 0; i < 16; ++i) salt[i] = static_cast<unsigned char>(i + 1);
    const char* pw = "correct horse battery staple";
    unsigned long before = hash_memory::advised();
    ASSERT_EQ(crypto_pwhash(out, sizeof out, pw, std::strlen(pw), salt, 2, size_t{8} << 20,
                            crypto_pwhash_ALG_ARGON2ID13),
              0);
    EXPECT_EQ(hash_memory::advised(), before + 1);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, out, sizeof out);
    EXPECT_STREQ(hex, "3119dd22fca1a87543cd92aaef9554055663c9a17eb6f4cf328a7b4be67d0b30");

    PasswordHasher hasher(19456, 2, 1);
    before = hash_memory::advised();
    std::string h = hasher.hash("guinevere-forever");
    EXPECT_TRUE(hasher.verify("guinevere-forever", h).ok);
    EXPECT_EQ(hash_memory::advised(), before + 2) << "the hash and the verification";
}

}  // namespace fu
