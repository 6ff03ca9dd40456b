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

// Small objects compare names in place, large ones through a set: the same
// answer either side of the boundary, a duplicate found wherever it sits.
TEST(Json, DuplicatesInObjectsOfEverySize) {
    for (int members : {1, 2, 15, 16, 17, 40, 1000}) {
        for (int dup_at : {0, members / 2, members - 1}) {
            std::string text = "{";
            for (int i = 0; i < members; ++i)
                text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
            std::string unique = text;
            unique.back() = '}';
            text += "\"k" + std::to_string(dup_at) + "\":-1}";
            SCOPED_TRACE(std::to_string(members) + " members, duplicate of " +
                         std::to_string(dup_at));
            EXPECT_TRUE(json::parse(unique, json::DuplicateKeys::refuse));
            EXPECT_FALSE(json::parse(text, json::DuplicateKeys::refuse));
            json::Doc d = json::parse(text);
            ASSERT_TRUE(d);
            EXPECT_EQ(cJSON_GetArraySize(d.get()), members);
            std::string key = "k" + std::to_string(dup_at);
            EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(d.get(), key.c_str())->valuedouble, -1);
        }
    }
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

namespace fu {

// append_string writes what cJSON prints for the same string: every byte
// alone, next to others, and random texts (UTF-8 or not).
TEST(Json, AppendStringPrintsAsCjson) {
    auto cjson = [](const std::string& s) {
        json::Doc d(cJSON_CreateString(s.c_str()));
        return json::print(d.get());
    };
    auto ours = [](const std::string& s) {
        std::string out = "x";
        json::append_string(out, s);
        return out.substr(1);
    };
    for (int c = 1; c < 256; ++c) {
        std::string s = "a" + std::string(1, static_cast<char>(c)) + "z";
        EXPECT_EQ(ours(s), cjson(s)) << "byte " << c;
    }
    EXPECT_EQ(ours(""), cjson(""));
    EXPECT_EQ(ours("jörg@münchen.de \"q\" \\ \x7f\x01\x1f"),
              cjson("jörg@münchen.de \"q\" \\ \x7f\x01\x1f"));
    unsigned state = 12345;
    for (int i = 0; i < 2000; ++i) {
        std::string s;
        for (int n = 0; n < 40; ++n) {
            state = state * 1103515245 + 12345;
            char c = static_cast<char>((state >> 16) % 255 + 1);
            s += c;
        }
        ASSERT_EQ(ours(s), cjson(s)) << s;
    }
}

}  // namespace fu
