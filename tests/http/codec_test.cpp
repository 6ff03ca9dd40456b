// Decoders: percent-encoding, +, repeated keys, empty values, bad escapes,
// cookies, multipart.
#include "http/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fu::http {

TEST(PercentDecode, DecodesEscapesAndPlus) {
    EXPECT_EQ(percent_decode("a%20b+c", true), "a b c");
    EXPECT_EQ(percent_decode("a%20b+c", false), "a b+c");
    EXPECT_EQ(percent_decode("%41%6a%6A%2b", false), "Ajj+");
}

TEST(PercentDecode, KeepsBadEscapesLiterally) {
    EXPECT_EQ(percent_decode("100%", true), "100%");
    EXPECT_EQ(percent_decode("%zz%4", true), "%zz%4");
    EXPECT_EQ(percent_decode("%", true), "%");
}

TEST(Urlencoded, RepeatedKeysEmptyValuesAndOrder) {
    Pairs p = parse_urlencoded("a=1&b=&a=3&&c&d=x%3Dy");
    ASSERT_EQ(p.size(), 5u);
    EXPECT_EQ(p[0], (std::pair<std::string, std::string>{"a", "1"}));
    EXPECT_EQ(p[1], (std::pair<std::string, std::string>{"b", ""}));
    EXPECT_EQ(p[2], (std::pair<std::string, std::string>{"a", "3"}));
    EXPECT_EQ(p[3], (std::pair<std::string, std::string>{"c", ""}));
    EXPECT_EQ(p[4], (std::pair<std::string, std::string>{"d", "x=y"}));
    EXPECT_EQ(*find(p, "a"), "3");  // the last, as Starlette reads a form or a query
    EXPECT_EQ(find(p, "missing"), nullptr);
}

TEST(Urlencoded, PlusAndEncodedKeys) {
    Pairs p = parse_urlencoded("user+name=king+arthur%40camelot.bt&p%61ss=a%2Bb");
    EXPECT_EQ(*find(p, "user name"), "king arthur@camelot.bt");
    EXPECT_EQ(*find(p, "pass"), "a+b");
}

TEST(Cookies, LastOfANameWinsAndQuotesGo) {
    // As Starlette's cookie parser: a name sent twice has its last value.
    Pairs c = parse_cookies(" a=1; fastapiusersauth=\"tok\" ;a=2; broken; =x; b=");
    EXPECT_EQ(*find(c, "a"), "2");
    EXPECT_EQ(*find(c, "fastapiusersauth"), "tok");
    EXPECT_EQ(*find(c, "b"), "");
    EXPECT_EQ(find(c, "broken"), nullptr);
}

TEST(HeaderParam, FindsQuotedAndPlainParameters) {
    EXPECT_EQ(header_param("multipart/form-data; boundary=abc", "boundary").value(), "abc");
    EXPECT_EQ(header_param("multipart/form-data; charset=x; BOUNDARY=\"a b\"", "boundary").value(),
              "a b");
    EXPECT_FALSE(header_param("multipart/form-data", "boundary").has_value());
}

TEST(Multipart, ReadsFieldsAsBrowsersSendThem) {
    std::string body =
        "--XyZ\r\nContent-Disposition: form-data; "
        "name=\"username\"\r\n\r\nking.arthur@camelot.bt\r\n"
        "--XyZ\r\nContent-Disposition: form-data; "
        "name=\"password\"\r\n\r\nguinevere\r\n--XyZ--\r\n";
    auto fields = parse_multipart(body, "XyZ");
    ASSERT_TRUE(fields.has_value());
    EXPECT_EQ(*find(*fields, "username"), "king.arthur@camelot.bt");
    EXPECT_EQ(*find(*fields, "password"), "guinevere");
}

// A part with a filename parameter is a file (Starlette's UploadFile), an
// empty filename too; its index is given so that a text field can refuse it.
TEST(Multipart, TellsFilesFromFields) {
    std::string body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nking\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"password\"; "
        "filename=\"p.txt\"\r\nContent-Type: text/plain\r\n\r\nguinevere\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"scope\"; filename=\"\"\r\n\r\n\r\n"
        "--XyZ--\r\n";
    std::vector<size_t> files;
    auto fields = parse_multipart(body, "XyZ", &files);
    ASSERT_TRUE(fields.has_value());
    ASSERT_EQ(fields->size(), 3u);
    EXPECT_EQ((*fields)[1].second, "guinevere");
    EXPECT_EQ(files, (std::vector<size_t>{1, 2}));
}

TEST(Multipart, RefusesBrokenBodies) {
    EXPECT_FALSE(parse_multipart("no boundary here", "XyZ").has_value());
    EXPECT_FALSE(parse_multipart(
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", "XyZ"));
    EXPECT_FALSE(parse_multipart("--XyZ\r\nX-Other: 1\r\n\r\nv\r\n--XyZ--", "XyZ").has_value());
}

TEST(MediaType, LowerCaseWithoutParameters) {
    EXPECT_EQ(media_type("Application/JSON; charset=utf-8"), "application/json");
    EXPECT_EQ(media_type(""), "");
}

}  // namespace fu::http

namespace fu::http {

TEST(Utf8, AcceptsWellFormedAndRefusesTheRest) {
    EXPECT_TRUE(valid_utf8("plain ascii"));
    EXPECT_TRUE(valid_utf8("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    EXPECT_FALSE(valid_utf8("a\xff"));
    EXPECT_FALSE(valid_utf8("\xc3"));              // truncated
    EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(valid_utf8("\xe2\x28\xa1"));      // bad continuation
}

TEST(Utf8, NextCodePointDecodesOneAndMovesPastIt) {
    std::string_view s = "a\xc3\xa9\xe2\x80\x8b\xf0\x9f\x98\x80";
    size_t i = 0;
    std::vector<char32_t> got;
    while (i < s.size()) got.push_back(next_code_point(s, i).value_or(0xFFFFFFFF));
    EXPECT_EQ(got, (std::vector<char32_t>{U'a', 0xE9, 0x200B, 0x1F600}));
    size_t at = 1;
    EXPECT_FALSE(next_code_point("a\xe2\x80", at));  // cut short: refused, not moved
    EXPECT_EQ(at, 1u);
}

}  // namespace fu::http
