// The revoked-ids text of a user row: matching whole ids only, pruning what
// has expired, keeping the later expiry, and the bound on its size.
#include "store/revoked_ids.h"

#include <gtest/gtest.h>

#include <vector>

namespace fu {
namespace {

constexpr long long kNow = 1'700'000'000;

TEST(RevokedIds, MatchesWholeIdsOnly) {
    const std::string text = "abc:100 de_f-9:200";
    EXPECT_TRUE(revoked_ids_contain(text, "abc"));
    EXPECT_TRUE(revoked_ids_contain(text, "de_f-9"));
    EXPECT_FALSE(revoked_ids_contain(text, "ab"));
    EXPECT_FALSE(revoked_ids_contain(text, "bc"));
    EXPECT_FALSE(revoked_ids_contain(text, "abc:100"));
    EXPECT_FALSE(revoked_ids_contain(text, ""));
    EXPECT_FALSE(revoked_ids_contain("", "abc"));
    // Entries edited by hand into something malformed match nothing.
    EXPECT_FALSE(revoked_ids_contain("abc  x:1 y:zz :5", "y"));
    EXPECT_TRUE(revoked_ids_contain("abc  x:1 y:zz :5", "x"));
}

TEST(RevokedIds, AddsPrunesAndKeepsTheLaterExpiry) {
    const std::vector<RevokedId> add{{"new", kNow + 60}, {"old", kNow + 900}};
    auto r = revoked_ids_add("gone:" + std::to_string(kNow - kRevokedIdGrace - 1) + " grace:" +
                                 std::to_string(kNow - 10) + " old:" + std::to_string(kNow + 30),
                             add, kNow);
    ASSERT_TRUE(r);
    EXPECT_FALSE(revoked_ids_contain(r->text, "gone"));
    EXPECT_TRUE(revoked_ids_contain(r->text, "grace"));  // a slow clock may still accept it
    EXPECT_TRUE(revoked_ids_contain(r->text, "new"));
    EXPECT_EQ(r->text, "grace:" + std::to_string(kNow - 10) + " old:" + std::to_string(kNow + 900) +
                           " new:" + std::to_string(kNow + 60));
    EXPECT_EQ(r->until, kNow + 900);
    // Adding an id again with an earlier expiry changes nothing.
    const std::vector<RevokedId> again{{"old", kNow + 5}};
    auto same = revoked_ids_add(r->text, again, kNow);
    ASSERT_TRUE(same);
    EXPECT_EQ(same->text, r->text);
}

TEST(RevokedIds, AllExpiredLeavesNothing) {
    auto r = revoked_ids_add("a:1 b:2", {}, kNow);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->text, "");
}

TEST(RevokedIds, RefusesToGrowPastTheBoundAndFitsTheColumn) {
    std::vector<std::string> names;
    for (size_t i = 0; i < kMaxRevokedIds + 1; ++i)
        names.push_back(std::string(43 - std::to_string(i).size(), 'x') + std::to_string(i));
    std::string text;
    for (size_t i = 0; i < kMaxRevokedIds; ++i) {
        const std::vector<RevokedId> one{{names[i], kNow + 3600}};
        auto r = revoked_ids_add(text, one, kNow);
        ASSERT_TRUE(r) << i;
        text = r->text;
    }
    EXPECT_LE(text.size(), 4096u);  // user.revoked_ids is VARCHAR(4096)
    const std::vector<RevokedId> more{{names.back(), kNow + 3600}};
    EXPECT_FALSE(revoked_ids_add(text, more, kNow));
    // Once some have expired there is room again.
    EXPECT_TRUE(revoked_ids_add(text, more, kNow + 3600 + kRevokedIdGrace + 1));
}

}  // namespace
}  // namespace fu
