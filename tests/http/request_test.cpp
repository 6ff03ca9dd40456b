// Building a Request from FastCGI parameters.
#include "http/request.h"

#include <gtest/gtest.h>

namespace fu::http {

TEST(RequestFromParams, PathQueryHeadersCookies) {
    Request r = request_from_params({{"REQUEST_METHOD", "GET"},
                                     {"REQUEST_URI", "/api/users/me%2Fx?require=superuser&x=a+b"},
                                     {"HTTP_AUTHORIZATION", "Bearer t"},
                                     {"HTTP_COOKIE", "fastapiusersauth=c1; other=2"},
                                     {"HTTP_X_USER_ID", "forged"},
                                     {"CONTENT_TYPE", "application/json"},
                                     {"CONTENT_LENGTH", "12"},
                                     {"HTTP_ACCEPT_LANGUAGE", "de"},
                                     {"REMOTE_ADDR", "192.0.2.1"}},
                                    "/api");
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.path, "/users/me/x");
    EXPECT_EQ(r.raw_path, "/api/users/me%2Fx");  // as sent: a redirect's Location starts from it
    EXPECT_EQ(r.raw_query, "require=superuser&x=a+b");
    EXPECT_EQ(*find(r.query, "x"), "a b");
    EXPECT_EQ(*r.header("authorization"), "Bearer t");
    EXPECT_EQ(*r.header("x-user-id"), "forged");
    EXPECT_EQ(*r.cookie("fastapiusersauth"), "c1");
    EXPECT_EQ(r.content_length, 12);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(*r.header("accept-language"), "de");
    // The other parameters stay as sent; the headers are read from `headers`.
    EXPECT_EQ(*r.param("REMOTE_ADDR"), "192.0.2.1");
    EXPECT_EQ(*r.param("REQUEST_METHOD"), "GET");
    EXPECT_EQ(r.param("HTTP_AUTHORIZATION"), nullptr);
    EXPECT_EQ(r.headers.size(), 5u);
}

// nginx before 1.23 (Debian bookworm's 1.22) passes a header sent on several
// lines as several parameters: one value, in order, as nginx 1.23 joins them.
TEST(RequestFromParams, AHeaderOnSeveralLinesIsOneValueInOrder) {
    Request r = request_from_params({{"REQUEST_URI", "/auth/jwt/login"},
                                     {"HTTP_X_FORWARDED_FOR", "198.51.100.9"},
                                     {"HTTP_COOKIE", "a=1"},
                                     {"HTTP_X_FORWARDED_FOR", "203.0.113.7, 192.0.2.4"},
                                     {"HTTP_COOKIE", "fastapiusersauth=c1"},
                                     {"HTTP_AUTHORIZATION", "Bearer t1"},
                                     {"HTTP_AUTHORIZATION", "Bearer t2"}},
                                    "");
    // A trusted proxy's own line comes last: read right to left, it is found.
    EXPECT_EQ(*r.header("x-forwarded-for"), "198.51.100.9, 203.0.113.7, 192.0.2.4");
    EXPECT_EQ(*r.header("cookie"), "a=1; fastapiusersauth=c1");
    EXPECT_EQ(*r.cookie("fastapiusersauth"), "c1");
    // Two credentials are no credential: "t1, Bearer t2" is no token.
    EXPECT_EQ(*r.header("authorization"), "Bearer t1, Bearer t2");
    EXPECT_EQ(r.headers.size(), 3u);
}

// Thousands of header lines (nginx bounds their bytes, not their number) are
// joined as a few are; Content-Type and -Length come from CONTENT_TYPE and
// CONTENT_LENGTH only.
TEST(RequestFromParams, ManyHeaderLinesAreJoinedAsAFewAre) {
    Pairs params = {{"REQUEST_URI", "/users/me"},
                    {"CONTENT_TYPE", "application/json"},
                    {"HTTP_CONTENT_TYPE", "application/json"},
                    {"HTTP_CONTENT_LENGTH", "2"}};
    for (int i = 0; i < 5000; ++i) params.emplace_back("HTTP_X_" + std::to_string(i), "v");
    for (int i = 0; i < 3; ++i)
        params.emplace_back("HTTP_X_FORWARDED_FOR", "192.0.2." + std::to_string(i));
    params.emplace_back("HTTP_X_17", "w");
    Request r = request_from_params(params, "");
    EXPECT_EQ(r.headers.size(), 5002u);
    EXPECT_EQ(*r.header("x-forwarded-for"), "192.0.2.0, 192.0.2.1, 192.0.2.2");
    EXPECT_EQ(*r.header("x-17"), "v, w");
    EXPECT_EQ(*r.header("x-4999"), "v");
    EXPECT_EQ(*r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("content-length"), nullptr);
}

TEST(RequestFromParams, PathOutsideTheMountIsEmpty) {
    EXPECT_EQ(request_from_params({{"REQUEST_URI", "/apix/healthz"}}, "/api").path, "");
    EXPECT_EQ(request_from_params({{"REQUEST_URI", "/api"}}, "/api").path, "");
    EXPECT_EQ(request_from_params({{"REQUEST_URI", "/healthz"}}, "").path, "/healthz");
}

TEST(RequestFromParams, BadContentLengthIsIgnored) {
    EXPECT_EQ(request_from_params({{"CONTENT_LENGTH", "-5"}}, "").content_length, -1);
    EXPECT_EQ(request_from_params({{"CONTENT_LENGTH", "99999999999999999999"}}, "").content_length,
              -1);
}

TEST(RequestFromParams, CgiStyleParametersWithoutRequestUri) {
    Request r = request_from_params(
        {{"SCRIPT_NAME", "/auth"}, {"PATH_INFO", "/check"}, {"QUERY_STRING", "optional"}}, "");
    EXPECT_EQ(r.path, "/auth/check");
    EXPECT_NE(find(r.query, "optional"), nullptr);
}

}  // namespace fu::http
