// Error shapes of the contract, serialisation, JSON body checks, addresses.
#include "http/response.h"

#include <gtest/gtest.h>

#include "http/body.h"

namespace fu::http {

TEST(ErrorShapes, DetailStringsAndCodes) {
    EXPECT_EQ(not_found().body, R"({"detail":"Not Found"})");
    EXPECT_EQ(bad_request("LOGIN_BAD_CREDENTIALS").body, R"({"detail":"LOGIN_BAD_CREDENTIALS"})");
    EXPECT_EQ(bad_request("REGISTER_INVALID_PASSWORD", "too short").body,
              R"({"detail":{"code":"REGISTER_INVALID_PASSWORD","reason":"too short"}})");
    Response u = unauthorized();
    EXPECT_EQ(u.status, 401);
    EXPECT_EQ(u.body, R"({"detail":"Unauthorized"})");
    ASSERT_EQ(u.headers.size(), 2u);
    EXPECT_EQ(u.headers[1], (std::pair<std::string, std::string>{"WWW-Authenticate", "Bearer"}));
    EXPECT_EQ(payload_too_large().status, 413);
    EXPECT_EQ(method_not_allowed("POST").body, R"({"detail":"Method Not Allowed"})");
}

TEST(ErrorShapes, UnprocessableListsEveryProblem) {
    Response r = unprocessable({{{"body", "email"}, "Field required", "missing"},
                                {{"body", 0}, "JSON decode error", "json_invalid"}});
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(r.body,
              R"({"detail":[{"loc":["body","email"],"msg":"Field required","type":"missing"},)"
              R"({"loc":["body",0],"msg":"JSON decode error","type":"json_invalid"}]})");
}

TEST(Serialize, StatusHeadersLengthAndBody) {
    std::string s = serialize(json_text(201, "{}"));
    EXPECT_EQ(
        s, "Status: 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(serialize(no_content()), "Status: 204 No Content\r\n\r\n");
}

namespace {
Request json_request(std::string body, std::string type = "application/json") {
    Request r;
    r.body = std::move(body);
    r.content_type = std::move(type);
    return r;
}
}  // namespace

TEST(JsonBody, MalformedJsonIs422) {
    JsonBody b(json_request("{\"email\": "));
    EXPECT_TRUE(b.failed());
    EXPECT_NE(b.response().body.find("json_invalid"), std::string::npos);
}

TEST(JsonBody, MissingAndMistypedFieldsAreAllListed) {
    JsonBody b(json_request(R"({"email": null, "password": 5})"));
    EXPECT_FALSE(b.required_email("email"));
    EXPECT_FALSE(b.required_string("password"));
    EXPECT_FALSE(b.required_string("token"));
    Response r = b.response();
    EXPECT_NE(
        r.body.find(
            R"({"loc":["body","email"],"msg":"Input should be a valid string","type":"string_type"})"),
        std::string::npos);
    EXPECT_NE(r.body.find(R"("loc":["body","password"])"), std::string::npos);
    EXPECT_NE(r.body.find(R"({"loc":["body","token"],"msg":"Field required","type":"missing"})"),
              std::string::npos);
}

TEST(JsonBody, WrongContentTypeAndNonObjects) {
    EXPECT_TRUE(JsonBody(json_request(R"({"a":1})", "text/plain")).failed());
    EXPECT_TRUE(JsonBody(json_request("[1,2]")).failed());
    EXPECT_TRUE(JsonBody(json_request("")).failed());
    EXPECT_TRUE(JsonBody(json_request("{} trailing")).failed());
    EXPECT_FALSE(JsonBody(json_request("{}", "application/vnd.api+json")).failed());
    EXPECT_FALSE(JsonBody(json_request("{}", "")).failed());
}

TEST(JsonBody, DeepNestingIsRefusedNotCrashed) {
    std::string deep(100000, '[');
    EXPECT_TRUE(JsonBody(json_request(deep)).failed());
}

TEST(Email, ValidAndInvalidAddresses) {
    for (const char* ok :
         {"king.arthur@camelot.bt", "a+b@example.com", "Lancelot@Camelot.BT", "o'neil@x.co.uk"})
        EXPECT_FALSE(email_problem(ok).has_value()) << ok;
    for (const char* bad :
         {"", "plain", "@x.com", "a@", "a@b", "a b@x.com", "a@x..com", ".a@x.com",
          "x$(touch /tmp/pwned)@example.com", "a@-x.com", "a@x.test", "a@localhost"})
        EXPECT_TRUE(email_problem(bad).has_value()) << bad;
}

// email-validator's rules on the domain and the whole length, with its words.
TEST(Email, LengthTopLevelDomainAndReservedLabelsAsEmailValidator) {
    // 64 + 1 + 189 = 254 characters: the longest address.
    auto address = [](size_t d) {
        return std::string(64, 'a') + "@" + std::string(63, 'b') + "." + std::string(63, 'c') +
               "." + std::string(d, 'd') + ".com";
    };
    ASSERT_EQ(address(57).size(), 254u);
    EXPECT_FALSE(email_problem(address(57)).has_value());
    EXPECT_EQ(email_problem(address(58)), "The email address is too long (1 character too many).");
    EXPECT_EQ(email_problem(address(60)), "The email address is too long (3 characters too many).");
    EXPECT_EQ(email_problem(std::string(2049, 'a')), "Length must not exceed 2048 characters");

    for (const char* ok : {"a@example.co", "a@xn--bcher-kva.example", "a@XN--bcher-kva.ch",
                           "a@a-b--c.com", "a@ab-cd.com", "a@x.y1z"})
        EXPECT_FALSE(email_problem(ok).has_value()) << ok;
    const std::string not_a_tld =
        "The part after the @-sign is not valid. It is not within a valid top-level domain.";
    for (const char* bad : {"a@example.c0m1", "a@example.123", "a@1.2.3.4"})
        EXPECT_EQ(email_problem(bad), not_a_tld) << bad;
    const std::string reserved =
        "An email address cannot have two letters followed by two dashes immediately after the "
        "@-sign or after a period, except Punycode.";
    for (const char* bad : {"a@ab--cd.com", "a@mail.AB--cd.com", "a@12--x.org"})
        EXPECT_EQ(email_problem(bad), reserved) << bad;
}

// What pydantic's EmailStr validates of what was sent: the whitespace around
// it dropped (Python's str.strip), and the part in <> of a "pretty" address.
TEST(Email, InputIsReadAsPydanticReadsIt) {
    const std::pair<const char*, const char*> cases[] = {
        {"king.arthur@camelot.bt", "king.arthur@camelot.bt"},
        {"  king.arthur@camelot.bt\t\n", "king.arthur@camelot.bt"},
        {"\xc2\xa0\xe2\x80\x83king.arthur@camelot.bt\xe3\x80\x80",
         "king.arthur@camelot.bt"},  // NBSP, EM SPACE, IDEOGRAPHIC SPACE
        {"King Arthur <king.arthur@camelot.bt>", "king.arthur@camelot.bt"},
        {" <  king.arthur@camelot.bt > ", "king.arthur@camelot.bt"},
        {"\"Arthur, King <of Camelot>\" <king.arthur@camelot.bt>", "king.arthur@camelot.bt"},
        {"K\xc3\xb6nig Arthur_1 <a@camelot.bt>", "a@camelot.bt"},          // \w is any letter
        {"King (Arthur) <a@camelot.bt>", "King (Arthur) <a@camelot.bt>"},  // ( is no name character
        {"<a@camelot.bt> x", "<a@camelot.bt> x"},
        {"<>", "<>"},
        {"a\xe2\x80\x8b@camelot.bt ",
         "a\xe2\x80\x8b@camelot.bt"},  // ZERO WIDTH SPACE is no whitespace
        {"\xc2\xa0", ""},
        // Not a display name (\w is letters and digits): read whole, then refused.
        {"\xe2\x86\x92 <a@camelot.bt>", "\xe2\x86\x92 <a@camelot.bt>"},    // RIGHTWARDS ARROW
        {"a\xe2\x80\x8b <a@camelot.bt>", "a\xe2\x80\x8b <a@camelot.bt>"},  // ZERO WIDTH SPACE
        {"e\xcc\x81 <a@camelot.bt>", "e\xcc\x81 <a@camelot.bt>"},          // a combining mark
    };
    for (const auto& [sent, read] : cases) EXPECT_EQ(email_input(sent), read) << sent;
    // Past pydantic's 2048 characters: not read (and refused as too long).
    std::string long_name = std::string(2100, 'k') + " <a@camelot.bt>";
    EXPECT_EQ(email_input(long_name), long_name);
}

// Addresses that display as another one (email-validator's unsafe characters)
// are invalid; letters of any script are not.
TEST(Email, RefusesInvisibleAndFormatCharacters) {
    for (const char* ok : {"\xc3\xa9@example.com",   // é
                           "e\xcc\x81@example.com",  // e + combining acute
                           "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.cn",  // CJK
                           "\xe2\x84\xaaing@example.com",  // KELVIN SIGN (a letter)
                           "a@b\xc3\xbc"
                           "cher.de"})
        EXPECT_FALSE(email_problem(ok).has_value()) << ok;
    const std::pair<const char*, const char*> bad[] = {
        {"admin@example.com\xc2\xa0", "U+00A0"},                // NO-BREAK SPACE after it
        {"admin\xe2\x80\xae@example.com", "U+202E"},            // RIGHT-TO-LEFT OVERRIDE
        {"admin@exam\xc2\xadple.com", "U+00AD"},                // SOFT HYPHEN in the domain
        {"a1\xe2\x80\x8b@example.com", "U+200B"},               // ZERO WIDTH SPACE
        {"a\xe2\x80\x8d\xe2\x80\x8b@x.com", "U+200B, U+200D"},  // each once, in order
        {"\xef\xbb\xbf"
         "a@example.com",
         "U+FEFF"},                                       // byte order mark
        {"a\xc2\x85@example.com", "U+0085"},              // NEXT LINE (C1 control)
        {"a\xee\x80\x80@example.com", "U+E000"},          // private use
        {"a\xef\xbf\xbe@example.com", "U+FFFE"},          // noncharacter
        {"a\xf3\xa0\x80\x81@example.com", "U+000E0001"},  // LANGUAGE TAG
        {"\xcc\x81"
         "a@example.com",
         "U+0301"},  // a combining mark first
        {"a@\xcc\x81"
         "b.com",
         "U+0301"},  // ... of the domain
        {"\xd2\x83"
         "a@example.com",
         "U+0483"},  // a Cyrillic mark first
        {"\xef\xb8\x8f"
         "a@example.com",
         "U+FE0F"},  // a variation selector first
    };
    for (const auto& [address, named] : bad) {
        auto problem = email_problem(address);
        ASSERT_TRUE(problem.has_value()) << address;
        EXPECT_EQ(*problem,
                  std::string("The email address contains unsafe characters: ") + named + ".");
    }
    EXPECT_EQ(email_problem("a\xe2\x80@example.com"),
              "The email address contains an invalid character.");  // cut UTF-8
}

}  // namespace fu::http

namespace fu::http {

TEST(Serialize, HeaderValuesCannotSplitTheAnswer) {
    Response r = json_text(200, "{}");
    r.with_header("X-User-Email", "a@b.co\r\nSet-Cookie: forged=1");
    std::string s = serialize(r);
    EXPECT_EQ(s.find("\r\nSet-Cookie"), std::string::npos);
    EXPECT_NE(s.find("X-User-Email: a@b.coSet-Cookie: forged=1\r\n"), std::string::npos);
}

}  // namespace fu::http
