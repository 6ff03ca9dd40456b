// Metrics: shards summed by route pattern and status, histogram, gauge.
#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace fu {
namespace {

http::Router router() {
    http::Router r;
    r.add("GET", "/users/{id}", [](const http::Request&, Context&) { return http::no_content(); });
    r.add("GET", "/healthz", [](const http::Request&, Context&) { return http::no_content(); });
    return r;
}

}  // namespace

TEST(Metrics, SumsShardsByRoutePatternAndStatus) {
    http::Router r = router();
    Metrics m(3, r);
    m.record(0, 0, 200, 0.002);
    m.record(1, 0, 200, 0.002);
    m.record(2, 0, 404, 0.0001);
    m.record(2, 1, 200, 0.3);
    m.record(0, r.route_count(), 404, 0.0001);
    m.record(1, 1, 418, 0.0001);
    std::string text = m.exposition();
    EXPECT_NE(
        text.find(
            "fcgi_users_requests_total{method=\"GET\",route=\"/users/{id}\",status=\"200\"} 2\n"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("route=\"/users/{id}\",status=\"404\"} 1\n"), std::string::npos);
    EXPECT_NE(
        text.find("fcgi_users_requests_total{method=\"\",route=\"unmatched\",status=\"404\"} 1\n"),
        std::string::npos);
    EXPECT_NE(text.find("route=\"/healthz\",status=\"other\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("fcgi_users_request_duration_seconds_bucket{le=\"0.001\"} 3\n"),
              std::string::npos);
    EXPECT_NE(text.find("fcgi_users_request_duration_seconds_bucket{le=\"0.25\"} 5\n"),
              std::string::npos);
    EXPECT_NE(text.find("fcgi_users_request_duration_seconds_bucket{le=\"+Inf\"} 6\n"),
              std::string::npos);
    EXPECT_NE(text.find("fcgi_users_request_duration_seconds_count 6\n"), std::string::npos);
}

TEST(Metrics, HashQueueGauge) {
    http::Router r = router();
    Metrics m(1, r);
    m.set_hash_queue(7);
    EXPECT_NE(m.exposition().find("fcgi_users_hash_queue_length 7\n"), std::string::npos);
}

TEST(Metrics, AcceptErrorsByErrno) {
    http::Router r = router();
    Metrics m(1, r);
    m.count_accept_error(EMFILE);
    m.count_accept_error(EMFILE);
    m.count_accept_error(ECONNABORTED);
    m.count_accept_error(EPROTO);
    std::string text = m.exposition();
    EXPECT_NE(text.find("fcgi_users_accept_errors_total{error=\"EMFILE\"} 2\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("fcgi_users_accept_errors_total{error=\"ECONNABORTED\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("fcgi_users_accept_errors_total{error=\"ENFILE\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("fcgi_users_accept_errors_total{error=\"other\"} 1\n"), std::string::npos);
}

}  // namespace fu
