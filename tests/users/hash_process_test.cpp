// The hash helpers (src/users/hash_process.h), started from the fcgi-users
// binary of this build: the same answers as hashing here, in a session of
// their own at the nice asked, one killed answered for and replaced, and
// every one gone when they are.
#include "users/hash_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace fu {
namespace {

constexpr unsigned long long kOps = 2;
constexpr size_t kMem = 19456 * 1024;

// CPU time a process used, in clock ticks.
long cpu_ticks(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; rest >> field; ++i) {
        if (i == 14) utime = std::stol(field);
        if (i == 15) {
            stime = std::stol(field);
            break;
        }
    }
    return utime + stime;
}

// Resident memory of a process, in KiB (VmRSS).
long rss_kib(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

// Until `pid` has ended (a zombie, or gone), at most 5 s.
void wait_ended(pid_t pid) {
    for (int i = 0; i < 500; ++i) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
        std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (stat.empty() || stat.substr(stat.rfind(')') + 2, 1) == "Z") return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << pid << " did not end";
}

class HashProcessTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(HashProcessTest, HelpersAnswerAsHashingHereWould) {
    HashProcesses helpers(FCGI_USERS_BINARY, 1, 10);
    pid_t pid = helpers.pids().at(0);
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(helpers.hash("x", 1, 8192 * 1024));  // the helper has started up by now
    long before = cpu_ticks(pid);
    auto made = helpers.hash("guinevere-forever", kOps, kMem);
    ASSERT_TRUE(made);
    // Nine more: one hash (~10 ms here since hash memory is kept) can fall
    // between two of the kernel's 10 ms CPU ticks and count for none.
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(helpers.hash("guinevere-forever", kOps, kMem));
    EXPECT_EQ(made->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *made;
    EXPECT_TRUE(verify_password("guinevere-forever", *made, kOps, kMem).ok);
    // The hash was made there, not here: its CPU time is the helper's.
    EXPECT_GT(cpu_ticks(pid), before);

    std::string here = argon2id_hash("lancelot-du-lac", kOps, kMem);
    auto v = helpers.verify("lancelot-du-lac", here, kOps, kMem);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok);
    EXPECT_FALSE(v->needs_rehash);
    v = helpers.verify("lancelot-du-laC", here, kOps, kMem);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->ok);
    // Other parameters and schemes, as PasswordTest checks them here.
    v = helpers.verify("lancelot-du-lac", here, 3, kMem);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok);
    EXPECT_TRUE(v->needs_rehash);
    const std::string bcrypt = "$2b$12$J/ZLTnfgr8c4kwf1EbgUTe37DnsUoiYHtjz7NDzLobPC8Y38ABAD2";
    v = helpers.verify("password", bcrypt, kOps, kMem);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok);
    EXPECT_TRUE(v->needs_rehash);
    v = helpers.verify("x", "plaintext", kOps, kMem);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->ok);
    // Passwords with every byte value, the empty one included.
    std::string odd;
    for (int c = 0; c < 256; ++c) odd.push_back(static_cast<char>(c));
    for (const std::string& pw : {odd, std::string()}) {
        auto h = helpers.hash(pw, kOps, kMem);
        ASSERT_TRUE(h);
        EXPECT_TRUE(verify_password(pw, *h, kOps, kMem).ok);
    }
    EXPECT_EQ(helpers.pids().at(0), pid);  // the same helper throughout
}

TEST_F(HashProcessTest, EachHelperRunsInASessionOfItsOwnAtTheNiceAsked) {
    errno = 0;
    int ours = getpriority(PRIO_PROCESS, 0);
    ASSERT_EQ(errno, 0);
    HashProcesses helpers(FCGI_USERS_BINARY, 2, 7);
    auto pids = helpers.pids();
    ASSERT_EQ(pids.size(), 2u);
    ASSERT_NE(pids[0], pids[1]);
    const int want = std::min(19, ours + 7);
    for (pid_t pid : pids) {
        EXPECT_EQ(getsid(pid), pid);
        EXPECT_NE(getsid(pid), getsid(0));
        // The session's own weight, where the kernel groups sessions; the
        // kernel takes one such change per tenth of a second, so a helper
        // may take a few tries (its first steps, before it reads requests).
        std::string group;
        for (int tries = 0; tries < 300; ++tries) {
            std::ifstream f("/proc/" + std::to_string(pid) + "/autogroup");
            group.clear();
            std::getline(f, group);
            bool grouped =
                group.empty() || group.find(" nice " + std::to_string(want)) != std::string::npos;
            if (grouped && getpriority(PRIO_PROCESS, static_cast<id_t>(pid)) == want) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(pid)), want);
        if (!group.empty()) {
            EXPECT_NE(group.find(" nice " + std::to_string(want)), std::string::npos) << group;
        }
    }
    ASSERT_TRUE(helpers.hash("x", 1, 8192 * 1024));
}

TEST_F(HashProcessTest, AHelperKilledMidRequestIsAnsweredForAndReplaced) {
    // A verification that takes the helper a good while (t = 12, 64 MiB).
    constexpr unsigned long long slow_ops = 12;
    constexpr size_t slow_mem = 64 * 1024 * 1024;
    const std::string stored = argon2id_hash("lancelot", slow_ops, slow_mem);
    HashProcesses helpers(FCGI_USERS_BINARY, 1, 10);
    pid_t first = helpers.pids().at(0);
    ASSERT_GT(first, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the restart interval
    std::thread killer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        kill(first, SIGKILL);
    });
    auto v = helpers.verify("lancelot", stored, slow_ops, slow_mem);
    killer.join();
    EXPECT_FALSE(v);  // no helper answered: PasswordHasher hashes here then
    pid_t second = helpers.pids().at(0);
    EXPECT_GT(second, 0);
    EXPECT_NE(second, first);
    EXPECT_EQ(kill(first, 0), -1);  // reaped, not a zombie
    auto h = helpers.hash("lancelot", 1, 8192 * 1024);
    ASSERT_TRUE(h);
    EXPECT_TRUE(verify_password("lancelot", *h, 1, 8192 * 1024).ok);
}

TEST_F(HashProcessTest, AHelperStartedAgainByANicerThreadRunsAtTheNiceOfTheFirst) {
    errno = 0;
    int ours = getpriority(PRIO_PROCESS, 0);
    ASSERT_EQ(errno, 0);
    const int want = std::min(19, ours + 5);
    HashProcesses helpers(FCGI_USERS_BINARY, 1, 5);
    pid_t first = helpers.pids().at(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the restart interval
    ASSERT_EQ(kill(first, SIGKILL), 0);
    wait_ended(first);  // ended while idle: found so when its channel is next taken
    // As in the server, where a hash thread (nicer than the process) finds
    // the helper gone and starts the next: the nice value it passes on is
    // the first helper's, not the thread's plus as much again.
    std::thread hash_thread([&] {
        ASSERT_EQ(setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), want), 0);
        EXPECT_TRUE(helpers.hash("x", 1, 8192 * 1024));
    });
    hash_thread.join();
    pid_t second = helpers.pids().at(0);
    ASSERT_GT(second, 0);
    ASSERT_NE(second, first);
    EXPECT_EQ(kill(first, 0), -1);  // reaped, not left a zombie
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(second)), want);
}

TEST_F(HashProcessTest, APasswordHasherAnswersRightWhetherOrNotAHelperCan) {
    HashProcesses helpers(FCGI_USERS_BINARY, 1, 10);
    PasswordHasher hasher(8192, 1, 1);
    hasher.hash_in(&helpers);
    // Larger than a channel carries: hashed here, the helper kept.
    std::string huge(200 * 1024, 'g');
    pid_t pid = helpers.pids().at(0);
    testing::internal::CaptureStderr();
    std::string h = hasher.hash(huge);
    EXPECT_NE(testing::internal::GetCapturedStderr().find("a password of 204800 bytes is hashed"),
              std::string::npos)
        << "the warning names the password's length, not the request's";
    EXPECT_TRUE(verify_password(huge, h, 1, 8192 * 1024).ok);
    EXPECT_EQ(helpers.pids().at(0), pid);
    // A helper gone within the restart interval: hashed here, no error.
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    auto v = hasher.verify("guinevere", hasher.hash("guinevere"));
    EXPECT_TRUE(v.ok);
    EXPECT_FALSE(hasher.verify("guinevera", hasher.hash("guinevere")).ok);
    EXPECT_EQ(helpers.pids().at(0), -1);  // none of these was the helper's
}

TEST_F(HashProcessTest, AHelperKeepsItsHashMemoryWhileRequestsComeAndGivesItBackWhenIdle) {
    constexpr long kKeepMs = 3000;
    HashProcesses helpers(FCGI_USERS_BINARY, 1, 10, kKeepMs);
    pid_t pid = helpers.pids().at(0);
    ASSERT_GT(pid, 0);
    const long hash_kib = static_cast<long>(kMem / 1024);
    for (int round = 0; round < 2; ++round) {
        auto made = helpers.hash("guinevere-forever", kOps, kMem);
        // Right after the answer the hash's 19 MiB are still there, kept for the next one...
        long busy = rss_kib(pid);
        ASSERT_TRUE(made);
        EXPECT_TRUE(verify_password("guinevere-forever", *made, kOps, kMem).ok);
        // ...and given back once no request came for kKeepMs (at most 10 s here).
        long idle = busy;
        for (int i = 0; i < 100 && busy - idle < hash_kib * 9 / 10; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            idle = rss_kib(pid);
        }
        EXPECT_GE(busy - idle, hash_kib * 9 / 10)
            << "round " << round << ": " << busy << " KiB busy, " << idle << " KiB idle";
    }
    EXPECT_EQ(helpers.pids().at(0), pid);  // the same helper throughout
}

// An idle helper's next step. Whether or not the kernel has taken its
// session's nice value yet (it takes one such change per tenth of a second on
// the whole machine), kept memory is given back once keep_ms passed.
TEST(HelperIdleStep, KeptMemoryIsGivenBackOnTimeWhetherOrNotTheNiceValueIsSettled) {
    for (bool settled : {true, false}) {
        SCOPED_TRACE(settled ? "settled" : "not settled");
        for (long left : {0L, -1L, -5000L}) {
            HelperIdleStep step = helper_idle_step(settled, true, left);
            EXPECT_TRUE(step.give_back) << left;
        }
        // Not due yet: waits no longer than what is left, and while the nice
        // value is not settled, no longer than a tenth of a second.
        EXPECT_FALSE(helper_idle_step(settled, true, 40).give_back);
        EXPECT_EQ(helper_idle_step(settled, true, 40).wait_ms, 40);
        EXPECT_FALSE(helper_idle_step(settled, true, 2500).give_back);
        EXPECT_EQ(helper_idle_step(settled, true, 2500).wait_ms, settled ? 2500 : 100);
    }
}

TEST(HelperIdleStep, WithNothingKeptItBlocksOnceTheNiceValueIsSettled) {
    for (long left : {-100L, 0L, 3000L}) {
        HelperIdleStep unsettled = helper_idle_step(false, false, left);
        EXPECT_FALSE(unsettled.give_back);
        EXPECT_EQ(unsettled.wait_ms, 100);  // the nice value tried again in a tenth of a second
        HelperIdleStep settled = helper_idle_step(true, false, left);
        EXPECT_FALSE(settled.give_back);
        EXPECT_EQ(settled.wait_ms, -1);  // the next request's read, as long as it takes
    }
}

TEST_F(HashProcessTest, HelpersEndWithTheirOwner) {
    std::vector<pid_t> pids;
    {
        HashProcesses helpers(FCGI_USERS_BINARY, 2, 10);
        pids = helpers.pids();
        ASSERT_TRUE(helpers.hash("x", 1, 8192 * 1024));
    }
    for (pid_t pid : pids) {
        EXPECT_EQ(kill(pid, 0), -1) << pid;
        EXPECT_EQ(errno, ESRCH);
    }
}

}  // namespace
}  // namespace fu
