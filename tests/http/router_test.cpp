// Routing: literals, {id} parameters, 404 and 405.
#include "http/router.h"

#include <gtest/gtest.h>

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

TEST(Router, HeadIsServedByGet) {
    Router r = make_router();
    Request q = req("HEAD", "/users/me");
    EXPECT_NE(r.match(q).handler, nullptr);
}

}  // namespace fu::http
