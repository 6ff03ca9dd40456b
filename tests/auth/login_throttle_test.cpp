// The client address the login throttle counts: REMOTE_ADDR, and
// X-Forwarded-For only through the configured trusted proxies.
#include "auth/login_throttle.h"

#include <gtest/gtest.h>

#include "wrap/mariadb.h"

namespace fu {
namespace {

http::Request request(std::string remote, std::string forwarded = {}) {
    http::Request r;
    r.params.emplace_back("REMOTE_ADDR", std::move(remote));
    if (!forwarded.empty()) r.headers.emplace_back("x-forwarded-for", std::move(forwarded));
    return r;
}

struct Fixture {
    explicit Fixture(std::vector<std::string> trusted) {
        config.sessions.trusted_proxies = std::move(trusted);
    }
    Config config;
    db::Connection conn{db::Settings{}};  // never opened: client_address needs no database
    ThrottleStore store{conn};
    LoginThrottle throttle{config, store};
};

TEST(LoginThrottle, RemoteAddrWhenNoProxyIsTrusted) {
    Fixture f({});
    EXPECT_EQ(f.throttle.client_address(request("203.0.113.9", "198.51.100.1")), "203.0.113.9");
}

TEST(LoginThrottle, ForwardedForOnlyThroughATrustedProxy) {
    Fixture f({"127.0.0.1", "10.0.0.2"});
    EXPECT_EQ(f.throttle.client_address(request("127.0.0.1", "198.51.100.1")), "198.51.100.1");
    // A client's own X-Forwarded-For entries before the proxies' are not believed.
    EXPECT_EQ(f.throttle.client_address(request("127.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.2")),
              "198.51.100.1");
    EXPECT_EQ(f.throttle.client_address(request("203.0.113.9", "198.51.100.1")), "203.0.113.9");
    EXPECT_EQ(f.throttle.client_address(request("127.0.0.1")), "127.0.0.1");
    EXPECT_EQ(f.throttle.client_address(request("127.0.0.1", " , ")), "127.0.0.1");
}

TEST(LoginThrottle, RetryAfterIsWholeSecondsRoundedUp) {
    EXPECT_EQ(LoginThrottle::retry_after_seconds(1), 1);
    EXPECT_EQ(LoginThrottle::retry_after_seconds(1000), 1);
    EXPECT_EQ(LoginThrottle::retry_after_seconds(1001), 2);
    EXPECT_EQ(LoginThrottle::retry_after_seconds(15000), 15);
}

}  // namespace
}  // namespace fu
