// Routing: literals, {id} parameters, 404 and 405.
#include "http/router.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace fu::http {
namespace {

Router make_router() {
    Router r;
    r.add("GET", "/users/me", [](const Request&, Context&) { return json_text(200, "me"); });
    r.add("GET", "/users/{id}", [](const Request&, Context&) { return json_text(200, "id"); });
    r.add("DELETE", "/users/{id}", [](const Request&, Context&) { return json_text(204, ""); });
    r.add("POST", "/auth/jwt/login",
          [](const Request&, Context&) { return json_text(200, "login"); });
    return r;
}

Request req(std::string method, std::string path) {
    Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    return r;
}

// A request as request_from_params makes it: `raw` as sent, `path` decoded
// and without the mount prefix.
Request sent(std::string raw, std::string path, std::string query = "") {
    Request r = req("GET", std::move(path));
    r.raw_path = std::move(raw);
    r.raw_query = std::move(query);
    return r;
}

}  // namespace

TEST(Router, LiteralBeatsParameterWhenRegisteredFirst) {
    Router r = make_router();
    Request q = req("GET", "/users/me");
    auto m = r.match(q);
    ASSERT_NE(m.handler, nullptr);
    EXPECT_TRUE(q.path_params.empty());
}

TEST(Router, PathParameterIsCaptured) {
    Router r = make_router();
    Request q = req("DELETE", "/users/57cbb51a-ab71-4009-8802-3f54b4f2e23b");
    auto m = r.match(q);
    ASSERT_NE(m.handler, nullptr);
    EXPECT_EQ(q.path_params.at("id"), "57cbb51a-ab71-4009-8802-3f54b4f2e23b");
}

TEST(Router, WrongMethodIs405WithAllow) {
    Router r = make_router();
    Request q = req("GET", "/auth/jwt/login");
    auto m = r.match(q);
    EXPECT_EQ(m.handler, nullptr);
    EXPECT_EQ(m.status, 405);
    EXPECT_EQ(m.allow, "POST");
}

TEST(Router, UnknownPathsAre404) {
    Router r = make_router();
    for (const char* p :
         {"/nothing", "/users", "/users/", "/users/a/b", "", "users/me", "/auth/jwt/login/"}) {
        Request q = req("GET", p);
        auto m = r.match(q);
        EXPECT_EQ(m.handler, nullptr) << p;
        EXPECT_EQ(m.status, 404) << p;
    }
}

TEST(Router, ATrailingSlashOfAKnownPathIsRedirectedWithoutIt) {
    Router r = make_router();
    EXPECT_EQ(r.slash_redirect(sent("/users/me/", "/users/me/")), "/users/me");
    EXPECT_EQ(r.slash_redirect(sent("/users/me///", "/users/me///")), "/users/me");
    EXPECT_EQ(r.slash_redirect(sent("/users/me/", "/users/me/", "a=1&b=%20")),
              "/users/me?a=1&b=%20");
    EXPECT_EQ(r.slash_redirect(sent("/users/%6De/", "/users/me/")), "/users/%6De") << "as sent";
    EXPECT_EQ(r.slash_redirect(sent("/users/abc/", "/users/abc/")), "/users/abc") << "a parameter";
    // Any method, as Starlette: the client repeats its method and body on a 307.
    Request post = sent("/auth/jwt/login/", "/auth/jwt/login/");
    post.method = "POST";
    EXPECT_EQ(r.slash_redirect(post), "/auth/jwt/login");
    post.method = "PATCH";
    EXPECT_EQ(r.slash_redirect(post), "/auth/jwt/login");
    // Mounted under /api: the prefix stays in the Location.
    EXPECT_EQ(r.slash_redirect(sent("/api/users/me/", "/users/me/")), "/api/users/me");
}

TEST(Router, NoRedirectWhereNoRouteKnowsThePathOrTheSlashWasNotOne) {
    Router r = make_router();
    for (auto [raw, path] : std::vector<std::pair<std::string, std::string>>{
             {"/nothing/", "/nothing/"},
             {"/users/", "/users/"},  // "/users" is no route
             {"/users/me", "/users/me"},
             {"/users/me%2F", "/users/me/"},    // an encoded slash is part of the name
             {"/users/me%2F/", "/users/me//"},  // one slash off: "/users/me/", no route
             {"/", "/"},
             {"//", "//"},
             {"/api/", "/"},
             {"", ""},
             {"//users/me/", "/users/me/"},  // the Location would name a host
             {"/\\users/me/", "/users/me/"},
         }) {
        EXPECT_EQ(r.slash_redirect(sent(raw, path)), "") << raw;
    }
}

TEST(Router, HeadIsServedByGet) {
    Router r = make_router();
    Request q = req("HEAD", "/users/me");
    EXPECT_NE(r.match(q).handler, nullptr);
}

// A GET that calls a provider acts (the OAuth callback spends its code): a
// HEAD must not run it.
TEST(Router, HeadIsNoGetThatCallsAProvider) {
    Router r = make_router();
    r.add(
        "GET", "/auth/corp/callback",
        [](const Request&, Context&) { return json_text(200, "callback"); }, Cost::calls_provider);
    Request head = req("HEAD", "/auth/corp/callback");
    Router::Match m = r.match(head);
    EXPECT_EQ(m.handler, nullptr);
    EXPECT_EQ(m.status, 405);
    EXPECT_EQ(m.allow, "GET");
    Request get = req("GET", "/auth/corp/callback");
    EXPECT_NE(r.match(get).handler, nullptr);
}

}  // namespace fu::http
