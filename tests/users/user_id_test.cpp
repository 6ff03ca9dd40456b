// The /users/{id} routes read an id as FastAPI Users' parse_id does (Python's
// uuid.UUID), so a client that sends another spelling of a user's id gets
// that user, not a 404.
#include <gtest/gtest.h>

#include "users/user_manager.h"

namespace fu {
namespace {

constexpr const char* kId = "57cbb51a-ab71-4009-8802-3f54b4f2e23b";

TEST(UserIdOf, EverySpellingPythonAcceptsIsTheCanonicalId) {
    for (const char* text :
         {"57cbb51a-ab71-4009-8802-3f54b4f2e23b", "57CBB51A-AB71-4009-8802-3F54B4F2E23B",
          "57cbb51aab71400988023f54b4f2e23b", "{57cbb51a-ab71-4009-8802-3f54b4f2e23b}",
          "urn:uuid:57cbb51a-ab71-4009-8802-3f54b4f2e23b",
          "urn:uuid:{57cbb51aab71400988023f54b4f2e23b}", "57cb-b51a-ab71-4009-8802-3f54-b4f2-e23b",
          "{{57cbb51a-ab71-4009-8802-3f54b4f2e23b}",
          "urn:urn:uuid:57cbb51a-ab71-4009-8802-3f54b4f2e23b"}) {
        std::optional<std::string> id = user_id_of(text);
        ASSERT_TRUE(id) << text;
        EXPECT_EQ(*id, kId) << text;
    }
}

TEST(UserIdOf, AnythingElseIsNoId) {
    for (const char* text :
         {"", "me", "57cbb51a-ab71-4009-8802-3f54b4f2e23",  // 31 digits
          "57cbb51a-ab71-4009-8802-3f54b4f2e23bb",          // 33
          "57cbb51g-ab71-4009-8802-3f54b4f2e23b",           // not hex
          "URN:UUID:57cbb51a-ab71-4009-8802-3f54b4f2e23b",  // Python's is lower case
          "57cbb51a-ab71-4009-8802-3f54b4f2e23b/x", "57cbb51a ab71 4009 8802 3f54b4f2e23b",
          "(57cbb51a-ab71-4009-8802-3f54b4f2e23b)",
          // str.replace makes one pass: what it leaves joined stays
          "ururn:n:57cbb51a-ab71-4009-8802-3f54b4f2e23b",
          "uuuid:id:57cbb51a-ab71-4009-8802-3f54b4f2e23b"}) {
        EXPECT_FALSE(user_id_of(text)) << text;
    }
}

}  // namespace
}  // namespace fu
