// libcurl calls with the bounds of http_client.h. The size cap is enforced
// while reading (the write callback refuses the byte past it), so a huge
// answer costs at most max_response_bytes of memory.
#include "oauth/http_client.h"

#include <algorithm>

#include "wrap/curl.h"

namespace fu::oauth {
namespace {

struct Sink {
    std::string* body;
    size_t max;
    bool overflow = false;
};

extern "C" size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    size_t len = size * n;
    if (sink->body->size() + len > sink->max) {
        sink->overflow = true;
        return 0;  // libcurl stops with CURLE_WRITE_ERROR
    }
    sink->body->append(data, len);
    return len;
}

}  // namespace

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char ch : s) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out += static_cast<char>(ch);
        } else {
            out += '%';
            out += hex[ch >> 4];
            out += hex[ch & 15];
        }
    }
    return out;
}

Result<HttpAnswer, FetchError> HttpClient::fetch(const HttpCall& call,
                                                 const Deadline& deadline) const {
    long left = deadline.remaining_ms();
    if (left <= 0) return make_error(FetchError::unavailable, "no time left");
    curl::Easy easy(curl_easy_init());
    if (!easy) return make_error(FetchError::unavailable, "curl_easy_init failed");
    CURL* h = easy.get();
    HttpAnswer answer;
    Sink sink{&answer.body, static_cast<size_t>(max_bytes_)};
    curl_easy_setopt(h, CURLOPT_URL, call.url.c_str());
    // Worker threads must never get SIGALRM from the resolver's timeouts.
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(connect_timeout_ms_, left));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes_));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "fcgi-users");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl::Slist headers;
    for (const auto& [name, value] : call.headers) {
        std::string line = name + ": " + value;
        curl_slist* next = curl_slist_append(headers.get(), line.c_str());
        if (!next) return make_error(FetchError::unavailable, "out of memory");
        (void)headers.release();
        headers.reset(next);
    }
    if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    if (call.method == "POST") {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body.c_str());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
    }
    // RFC 6749 2.3.1: client id and secret are form-encoded before Basic.
    std::string user = url_encode(call.basic_user), password = url_encode(call.basic_password);
    if (!call.basic_password.empty()) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, user.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, password.c_str());
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        bool big = sink.overflow || rc == CURLE_FILESIZE_EXCEEDED;
        return make_error(big ? FetchError::too_large : FetchError::unavailable,
                          curl_easy_strerror(rc));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answer.status);
    char* type = nullptr;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
    if (type) answer.content_type = type;
    return answer;
}

}  // namespace fu::oauth
