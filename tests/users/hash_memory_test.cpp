// libsodium's argon2 memory on huge pages (users/hash_memory.h): the mapping
// a hash asks for comes through fcgi-users' mmap, starts on a 2 MiB boundary,
// is advised huge pages and populated whole; other mappings are left alone;
// and the hash is the same as on libsodium's own mapping. A thread that keeps
// its hash memory gets it back zeroed for its next hash, and gives it back
// when it asks or ends.
#include "users/hash_memory.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
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

constexpr size_t kHashLength = 19456 * 1024;  // libsodium's mapping for m=19456

void* map_like_libsodium(size_t length) {
    return mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                -1, 0);
}

bool all_zero(const void* p, size_t length) {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < length; ++i)
        if (b[i] != 0) return false;
    return true;
}

// Runs `f` on a thread of its own (its kept memory is its own) and waits.
template <class F>
void on_a_thread(F f) {
    std::thread t(f);
    t.join();
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

TEST_F(HashMemoryTest, KeptMemoryIsZeroedAndComesBackForTheThreadsNextHash) {
    on_a_thread([] {
        hash_memory::keep_for_this_thread();
        EXPECT_EQ(hash_memory::kept_by_this_thread(), 0u);
        unsigned long before = hash_memory::advised();
        void* p = map_like_libsodium(kHashLength);
        ASSERT_NE(p, MAP_FAILED);
        EXPECT_EQ(hash_memory::advised(), before + 1);
        EXPECT_EQ(hash_memory::kept_by_this_thread(), kHashLength);
        std::memset(p, 0xa5, kHashLength);  // what a hash leaves
        ASSERT_EQ(munmap(p, kHashLength), 0);
        // Still mapped, every byte zeroed: nothing of the hash stays in it.
        ASSERT_TRUE(facts_of(p).found);
        EXPECT_TRUE(all_zero(p, kHashLength));
        EXPECT_EQ(hash_memory::kept_by_this_thread(), kHashLength);

        // The next hash of that size gets it again, in memory, mapped no more.
        void* q = map_like_libsodium(kHashLength);
        EXPECT_EQ(q, p);
        EXPECT_EQ(hash_memory::advised(), before + 1);
        EXPECT_EQ(resident_pages(q, kHashLength),
                  kHashLength / static_cast<size_t>(sysconf(_SC_PAGESIZE)));
        // Another size while it is in use: a mapping of its own, unmapped for real.
        void* other = map_like_libsodium(kHashLength / 2);
        ASSERT_NE(other, MAP_FAILED);
        EXPECT_NE(other, q);
        EXPECT_EQ(hash_memory::advised(), before + 2);
        ASSERT_EQ(munmap(other, kHashLength / 2), 0);
        EXPECT_FALSE(facts_of(other).found);
        ASSERT_EQ(munmap(q, kHashLength), 0);

        // Given back when asked; the next hash maps afresh and is kept again.
        hash_memory::release_this_thread();
        EXPECT_EQ(hash_memory::kept_by_this_thread(), 0u);
        EXPECT_FALSE(facts_of(p).found);
        void* r = map_like_libsodium(kHashLength);
        ASSERT_NE(r, MAP_FAILED);
        EXPECT_EQ(hash_memory::advised(), before + 3);
        EXPECT_EQ(hash_memory::kept_by_this_thread(), kHashLength);
        ASSERT_EQ(munmap(r, kHashLength), 0);
        hash_memory::release_this_thread();
        EXPECT_FALSE(facts_of(r).found);
    });
}

TEST_F(HashMemoryTest, KeptMemoryUnmappedInPartOrReadOnlyIsNeverHandedOut) {
    on_a_thread([] {
        hash_memory::keep_for_this_thread();
        void* p = map_like_libsodium(kHashLength);
        ASSERT_NE(p, MAP_FAILED);
        ASSERT_EQ(munmap(p, kHashLength), 0);  // kept
        // Someone unmaps half of it: it is forgotten, not handed out again.
        ASSERT_EQ(munmap(static_cast<char*>(p) + kHashLength / 2, kHashLength / 2), 0);
        EXPECT_EQ(hash_memory::kept_by_this_thread(), 0u);
        ASSERT_EQ(munmap(p, kHashLength / 2), 0);
        EXPECT_FALSE(facts_of(p).found);
        // A read-only mapping of that kind is not kept (zeroing it would fault).
        void* ro = mmap(nullptr, kHashLength, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                        -1, 0);
        ASSERT_NE(ro, MAP_FAILED);
        EXPECT_EQ(hash_memory::kept_by_this_thread(), 0u);
        ASSERT_EQ(munmap(ro, kHashLength), 0);
        EXPECT_FALSE(facts_of(ro).found);
    });
}

TEST_F(HashMemoryTest, AHashOfAnotherSizeGivesTheKeptMemoryBackAndIsKeptInstead) {
    // A user whose hash has other parameters (one imported from FastAPI
    // Users, 64 MiB) must not leave every later hash without kept memory.
    on_a_thread([] {
        hash_memory::keep_for_this_thread();
        const size_t other = kHashLength + 2 * kHugePage;
        void* p = map_like_libsodium(kHashLength);
        ASSERT_NE(p, MAP_FAILED);
        ASSERT_EQ(munmap(p, kHashLength), 0);
        void* q = map_like_libsodium(other);
        ASSERT_NE(q, MAP_FAILED);
        EXPECT_FALSE(facts_of(p).found) << "the first size was given back";
        EXPECT_EQ(hash_memory::kept_by_this_thread(), other);
        ASSERT_EQ(munmap(q, other), 0);
        EXPECT_TRUE(facts_of(q).found);
        EXPECT_EQ(map_like_libsodium(other), q) << "the newest size comes back";
        ASSERT_EQ(munmap(q, other), 0);
        hash_memory::release_this_thread();
        EXPECT_FALSE(facts_of(q).found);
    });
}

TEST_F(HashMemoryTest, AFailedUnmappingLeavesTheKeptMemoryKept) {
    on_a_thread([] {
        hash_memory::keep_for_this_thread();
        void* p = map_like_libsodium(kHashLength);
        ASSERT_NE(p, MAP_FAILED);
        ASSERT_EQ(munmap(p, kHashLength), 0);
        // Not page-aligned: the kernel refuses it and nothing is unmapped.
        errno = 0;
        EXPECT_EQ(munmap(static_cast<char*>(p) + 1, 4096), -1);
        EXPECT_EQ(errno, EINVAL);
        EXPECT_EQ(hash_memory::kept_by_this_thread(), kHashLength) << "still mapped, still kept";
        EXPECT_EQ(map_like_libsodium(kHashLength), p);
        ASSERT_EQ(munmap(p, kHashLength), 0);
        hash_memory::release_this_thread();
        EXPECT_FALSE(facts_of(p).found);
    });
}

TEST_F(HashMemoryTest, AMappingPlacedOverKeptMemoryIsNeverHandedOutForAHash) {
    on_a_thread([] {
        hash_memory::keep_for_this_thread();
        void* p = map_like_libsodium(kHashLength);
        ASSERT_NE(p, MAP_FAILED);
        ASSERT_EQ(munmap(p, kHashLength), 0);
        // A fixed mapping replaces its first 2 MiB: that is someone else's now.
        void* fixed = mmap(p, kHugePage, PROT_READ | PROT_WRITE,
                           MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_EQ(fixed, p);
        std::memset(fixed, 0x5a, kHugePage);
        EXPECT_EQ(hash_memory::kept_by_this_thread(), 0u);
        void* q = map_like_libsodium(kHashLength);
        ASSERT_NE(q, MAP_FAILED);
        EXPECT_NE(q, p);
        EXPECT_EQ(static_cast<unsigned char*>(fixed)[0], 0x5a) << "the fixed mapping is left alone";
        ASSERT_EQ(munmap(q, kHashLength), 0);
        hash_memory::release_this_thread();
        ASSERT_EQ(munmap(p, kHashLength), 0);  // the fixed mapping and the rest of the old one
        EXPECT_FALSE(facts_of(p).found);
    });
}

TEST_F(HashMemoryTest, HashMemoryStaysOutOfCoreDumpsAndForkedChildren) {
    void* p = map_like_libsodium(kHashLength);
    ASSERT_NE(p, MAP_FAILED);
    MappingFacts f = facts_of(p);
    ASSERT_TRUE(f.found);
    EXPECT_NE(f.flags.find(" dd "), std::string::npos) << f.flags;  // MADV_DONTDUMP
    EXPECT_NE(f.flags.find(" wf "), std::string::npos) << f.flags;  // MADV_WIPEONFORK
    ASSERT_EQ(munmap(p, kHashLength), 0);
}

namespace {
struct LateHash {
    size_t kept = SIZE_MAX;
    bool still_mapped = true;
};

// A destructor of a key made after hash_memory's: it runs after the thread's
// kept memory was given back, and hashes once more.
void hash_at_thread_end(void* arg) {
    auto* late = static_cast<LateHash*>(arg);
    void* p = map_like_libsodium(kHashLength);
    if (p == MAP_FAILED) return;
    munmap(p, kHashLength);
    late->kept = hash_memory::kept_by_this_thread();
    late->still_mapped = facts_of(p).found;
    hash_memory::release_this_thread();  // were it kept: the test's leak, not the process's
}
}  // namespace

TEST_F(HashMemoryTest, AHashLateInAThreadsEndKeepsNothing) {
    on_a_thread([] { hash_memory::keep_for_this_thread(); });  // hash_memory's key exists
    pthread_key_t late_key;
    ASSERT_EQ(pthread_key_create(&late_key, hash_at_thread_end), 0);
    LateHash late;
    on_a_thread([&] {
        hash_memory::keep_for_this_thread();
        void* p = map_like_libsodium(kHashLength);
        ASSERT_NE(p, MAP_FAILED);
        ASSERT_EQ(munmap(p, kHashLength), 0);
        ASSERT_EQ(pthread_setspecific(late_key, &late), 0);
    });
    pthread_key_delete(late_key);
    EXPECT_EQ(late.kept, 0u);
    EXPECT_FALSE(late.still_mapped);
}

TEST_F(HashMemoryTest, AThreadThatDoesNotKeepItsMemoryUnmapsIt) {
    on_a_thread([] {
        void* p = map_like_libsodium(kHashLength);
        ASSERT_NE(p, MAP_FAILED);
        EXPECT_EQ(hash_memory::kept_by_this_thread(), 0u);
        ASSERT_EQ(munmap(p, kHashLength), 0);
        EXPECT_FALSE(facts_of(p).found);
    });
}

TEST_F(HashMemoryTest, KeptMemoryIsGivenBackWhenTheThreadEnds) {
    void* kept = nullptr;
    on_a_thread([&] {
        hash_memory::keep_for_this_thread();
        kept = map_like_libsodium(kHashLength);
        ASSERT_NE(kept, MAP_FAILED);
        ASSERT_EQ(munmap(kept, kHashLength), 0);
        ASSERT_TRUE(facts_of(kept).found);
    });
    ASSERT_NE(kept, nullptr);
    EXPECT_FALSE(facts_of(kept).found);
}

TEST_F(HashMemoryTest, HashesOnKeptMemoryAreLibsodiumsHashes) {
    on_a_thread([] {
        hash_memory::keep_for_this_thread();
        unsigned char salt[16];
        for (int i = 0; i < 16; ++i) salt[i] = static_cast<unsigned char>(i + 1);
        const char* pw = "correct horse battery staple";
        unsigned long before = hash_memory::advised();
        for (int round = 0; round < 3; ++round) {
            unsigned char out[32];
            ASSERT_EQ(crypto_pwhash(out, sizeof out, pw, std::strlen(pw), salt, 2, size_t{8} << 20,
                                    crypto_pwhash_ALG_ARGON2ID13),
                      0);
            char hex[65];
            sodium_bin2hex(hex, sizeof hex, out, sizeof out);
            EXPECT_STREQ(hex, "3119dd22fca1a87543cd92aaef9554055663c9a17eb6f4cf328a7b4be67d0b30")
                << "round " << round;
        }
        EXPECT_EQ(hash_memory::advised(), before + 1) << "one mapping for the three hashes";
        EXPECT_EQ(hash_memory::kept_by_this_thread(), size_t{8} << 20);
    });
}

}  // namespace fu
