// HttpClient: the outbound calls to OAuth providers, through libcurl, with
// every bound a hostile or broken provider could push on: a connect timeout,
// one deadline for all calls of a request, a cap on the answer's size, TLS
// verified, no redirects followed, http(s) only. Thread-safe (a handle per call).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace fu::oauth {

// The time left for all provider calls of one request.
class Deadline {
  public:
    explicit Deadline(long total_ms)
        : end_(std::chrono::steady_clock::now() + std::chrono::milliseconds(total_ms)) {}
    long remaining_ms() const {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end_ - std::chrono::steady_clock::now());
        return left.count() > 0 ? static_cast<long>(left.count()) : 0;
    }

  private:
    std::chrono::steady_clock::time_point end_;
};

enum class FetchError {
    unavailable,  // cannot connect, timed out, TLS failed: 502 OAUTH_PROVIDER_UNAVAILABLE
    too_large,    // the answer passed max_response_bytes
};

struct HttpCall {
    std::string method = "GET";  // GET or POST
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;        // POST: application/x-www-form-urlencoded
    std::string basic_user;  // client_secret_basic when basic_password is set
    std::string basic_password;
};

struct HttpAnswer {
    long status = 0;
    std::string content_type;
    std::string body;
};

class HttpClient {
  public:
    HttpClient(long connect_timeout_ms, long max_response_bytes)
        : connect_timeout_ms_(connect_timeout_ms), max_bytes_(max_response_bytes) {}

    // Any HTTP status is an answer; only transport failures are errors.
    Result<HttpAnswer, FetchError> fetch(const HttpCall& call, const Deadline& deadline) const;

  private:
    long connect_timeout_ms_;
    long max_bytes_;
};

// application/x-www-form-urlencoded / query-string escaping (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);

}  // namespace fu::oauth
