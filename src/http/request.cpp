// Turning nginx's (or Apache's) FastCGI parameters into a Request.
#include "http/request.h"

#include <cstdlib>
#include <unordered_map>

#include "util/ascii.h"

namespace fu::http {

namespace {

// "HTTP_X_FORWARDED_FOR" -> "x-forwarded-for"
std::string header_name(std::string_view param) {
    std::string name(param.substr(5));
    for (char& c : name) c = c == '_' ? '-' : ascii::lower(c);
    return name;
}

// A header sent on several lines is one value, its lines joined in order as
// RFC 9110 (5.3) allows and nginx from 1.23 does itself: ", " between them,
// "; " for Cookie. nginx before 1.23 (Debian bookworm's 1.22) passes each line
// as a FastCGI parameter of its own; reading only the first would let a client
// put its own X-Forwarded-For line before the one a trusted proxy appended.
// A few headers are looked through; past kScanned, through an index, so that
// thousands of tiny headers cost linear time, not quadratic.
class HeaderJoiner {
  public:
    explicit HeaderJoiner(Pairs& headers) : headers_(headers) {}

    void add(std::string name, std::string value) {
        std::string* line = seen(name);
        if (!line) {
            if (!index_.empty()) index_.emplace(name, headers_.size());
            headers_.emplace_back(std::move(name), std::move(value));
            return;
        }
        *line += name == "cookie" ? "; " : ", ";
        *line += value;
    }

  private:
    static constexpr size_t kScanned = 16;

    std::string* seen(const std::string& name) {
        if (index_.empty() && headers_.size() <= kScanned) {
            for (auto& [n, v] : headers_)
                if (n == name) return &v;
            return nullptr;
        }
        if (index_.empty())
            for (size_t i = 0; i < headers_.size(); ++i) index_.emplace(headers_[i].first, i);
        auto it = index_.find(name);
        return it == index_.end() ? nullptr : &headers_[it->second].second;
    }

    Pairs& headers_;
    std::unordered_map<std::string, size_t> index_;  // name -> position, once there are many
};

}  // namespace

Request request_from_params(Pairs params, std::string_view mount_prefix) {
    Request r;
    std::string uri;
    // Each header's value moves to `headers`; its HTTP_ parameter is left out
    // of `params`, so nothing is copied twice.
    size_t kept = 0;
    HeaderJoiner headers(r.headers);
    for (auto& param : params) {
        auto& [k, v] = param;
        if (k.rfind("HTTP_", 0) == 0) {
            // Content-Type and -Length are CONTENT_TYPE and CONTENT_LENGTH.
            if (k != "HTTP_CONTENT_TYPE" && k != "HTTP_CONTENT_LENGTH")
                headers.add(header_name(k), std::move(v));
            continue;
        }
        if (k == "REQUEST_METHOD") {
            r.method = v;
        } else if (k == "REQUEST_URI") {
            uri = v;
        } else if (k == "FCGI_ROLE") {
            r.role = v;
        } else if (k == "CONTENT_TYPE") {
            r.content_type = v;
            headers.add("content-type", v);
        } else if (k == "CONTENT_LENGTH") {
            if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos &&
                v.size() < 19)
                r.content_length = std::strtoll(v.c_str(), nullptr, 10);
        }
        if (&params[kept] != &param) params[kept] = std::move(param);
        ++kept;
    }
    params.resize(kept);
    if (uri.empty()) {  // not nginx: CGI-style parameters
        const std::string* script = find(params, "SCRIPT_NAME");
        const std::string* info = find(params, "PATH_INFO");
        const std::string* qs = find(params, "QUERY_STRING");
        uri = (script ? *script : "") + (info ? *info : "");
        if (qs && !qs->empty()) uri += "?" + *qs;
    }
    size_t q = uri.find('?');
    std::string raw_path = uri.substr(0, q);
    if (q != std::string::npos) r.raw_query = uri.substr(q + 1);
    r.query = parse_urlencoded(r.raw_query);
    std::string path = percent_decode(raw_path, false);
    if (!mount_prefix.empty()) {
        if (path.rfind(mount_prefix, 0) == 0 &&
            (path.size() == mount_prefix.size() || path[mount_prefix.size()] == '/')) {
            path.erase(0, mount_prefix.size());
        } else {
            path.clear();
        }
    }
    r.path = path;
    r.raw_path = std::move(raw_path);
    if (const std::string* c = r.header("cookie")) r.cookies = parse_cookies(*c);
    r.params = std::move(params);
    return r;
}

}  // namespace fu::http
