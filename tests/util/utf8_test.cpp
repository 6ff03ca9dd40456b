// Text from outside made storable in a utf8mb4 column: well-formed UTF-8 kept
// byte for byte, each byte that begins no well-formed sequence one U+FFFD.
#include "util/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace fu {
namespace {

const std::string kReplacement = "\xef\xbf\xbd";

TEST(Utf8Scrubbed, WellFormedTextIsKeptAsItIs) {
    for (std::string s :
         {std::string(), std::string("plain ascii\n"),
          std::string("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::string("a\0b", 3)}) {
        EXPECT_EQ(utf8::scrubbed(s), s);
        EXPECT_TRUE(utf8::valid(utf8::scrubbed(s)));
    }
}

TEST(Utf8Scrubbed, EachByteThatBeginsNoCharacterBecomesOneReplacement) {
    EXPECT_EQ(utf8::scrubbed("a\xff"
                             "b"),
              "a" + kReplacement + "b");
    EXPECT_EQ(utf8::scrubbed("\xa9\xc3\xa9"), kReplacement + "\xc3\xa9");  // cut inside a character
    EXPECT_EQ(utf8::scrubbed("x\xc3"), "x" + kReplacement);                // cut short at the end
    EXPECT_EQ(utf8::scrubbed("\xc0\xaf"), kReplacement + kReplacement);    // overlong
    EXPECT_EQ(utf8::scrubbed("\xed\xa0\x80"),
              kReplacement + kReplacement + kReplacement);  // surrogate
    EXPECT_EQ(utf8::scrubbed("\xe2\x28\xa1"),
              kReplacement + "(" + kReplacement);  // bad continuation
}

TEST(Utf8Scrubbed, AnyBytesComeOutWellFormed) {
    std::string all;
    for (int round = 0; round < 4; ++round)
        for (int b = 0; b < 256; ++b)
            all.push_back(static_cast<char>((b * 37 + round * 101) & 0xff));
    for (size_t from = 0; from < 64; ++from)
        EXPECT_TRUE(utf8::valid(utf8::scrubbed(all.substr(from))));
}

}  // namespace
}  // namespace fu
