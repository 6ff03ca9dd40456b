// Parsing as Python does: the last of duplicate keys wins (or the text is
// refused), and values holding \u0000 are found before cJSON cuts them short.
#include "wrap/cjson.h"

#include <gtest/gtest.h>

namespace fu {

TEST(Json, LastDuplicateKeyWinsAtEveryDepth) {
    json::Doc d = json::parse(R"({"a":1,"b":{"x":"first","x":"last"},"a":2,"c":[{"k":1,"k":3}]})");
    ASSERT_TRUE(d);
    EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(d.get(), "a")->valuedouble, 2);
    EXPECT_EQ(cJSON_GetArraySize(d.get()), 3);
    const cJSON* b = cJSON_GetObjectItemCaseSensitive(d.get(), "b");
    EXPECT_STREQ(cJSON_GetObjectItemCaseSensitive(b, "x")->valuestring, "last");
    EXPECT_EQ(cJSON_GetArraySize(b), 1);
    const cJSON* k = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d.get(), "c"), 0), "k");
    EXPECT_EQ(k->valuedouble, 3);
}

TEST(Json, RefusingDuplicates) {
    EXPECT_TRUE(json::parse(R"({"a":1,"b":2})", json::DuplicateKeys::refuse));
    EXPECT_FALSE(json::parse(R"({"a":1,"a":1})", json::DuplicateKeys::refuse));
    EXPECT_FALSE(json::parse(R"({"o":{"a":1,"a":2}})", json::DuplicateKeys::refuse));
}

TEST(Json, KeysWithNul) {
    using S = std::set<std::string>;
    EXPECT_EQ(json::keys_with_nul(R"({"email":"a@example.com\u0000<script>","password":"x"})"),
              S{"email"});
    EXPECT_EQ(json::keys_with_nul(R"({"email":"a\\u0000","password":"\"\u0000"})"), S{"password"});
    EXPECT_EQ(json::keys_with_nul(R"({"pass\u0077ord":"\u0000"})"), S{"password"});
    EXPECT_EQ(json::keys_with_nul(R"({"p":"\u0000","p":"clean"})"), S{});
    EXPECT_EQ(json::keys_with_nul(R"({"p":"clean","p":"\u0000"})"), S{"p"});
    EXPECT_EQ(json::keys_with_nul(R"({"p":"\u0000","p":5})"), S{});
    EXPECT_EQ(json::keys_with_nul(R"({"o":{"p":"\u0000"},"q":["\u0000"]})"), S{});
    EXPECT_EQ(json::keys_with_nul(R"({"p":"\u00001"})"), S{"p"});
}

TEST(Json, KeyWithNul) {
    EXPECT_TRUE(json::key_with_nul(R"({"email\u0000x":"a@b.co"})"));
    EXPECT_TRUE(json::key_with_nul(R"({"a":1, "o":{"k\u0000" : 2}})"));
    EXPECT_FALSE(json::key_with_nul(R"({"email":"a\u0000"})"));            // a value
    EXPECT_FALSE(json::key_with_nul(R"({"e\\u0000":1,"v":["\u0000"]})"));  // a backslash; a value
    EXPECT_FALSE(json::key_with_nul(R"({"e":"x\"\u0000:"})"));             // inside a value
}

// A provider's "sub":"a@x.com\u0000zzz" would be read as "a@x.com", another
// account's id: anything but a request body refuses such a text whole.
TEST(Json, RefusesNulEscapesUnlessKeptForABody) {
    for (const char* text : {R"({"sub":"a@x.com\u0000zzz"})", R"({"o":{"k":["\u0000"]}})",
                             R"({"s\u0000ub":"a"})", R"("\u0000")"}) {
        EXPECT_FALSE(json::parse(text)) << text;
        EXPECT_TRUE(json::parse(text, json::DuplicateKeys::last_wins, json::Nuls::keep)) << text;
    }
    EXPECT_FALSE(json::parse(std::string_view("{\"sub\":\"a@x.com\0zzz\"}", 21)));  // a raw NUL
    json::Doc d = json::parse(R"({"sub":"a\\u0000","n":"\u0001"})");  // a backslash, then text
    ASSERT_TRUE(d);
    EXPECT_STREQ(cJSON_GetObjectItemCaseSensitive(d.get(), "sub")->valuestring, "a\\u0000");
}

}  // namespace fu
