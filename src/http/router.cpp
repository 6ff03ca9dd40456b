// Matching (method, path) against the route table, telling 405 from 404.
#include "http/router.h"

namespace fu::http {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    if (path.empty() || path[0] != '/') return out;
    out.reserve(8);
    path.remove_prefix(1);
    while (true) {
        size_t slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

void Router::add(std::string method, std::string_view pattern, Handler handler, Cost cost) {
    Route r{std::move(method), std::string(pattern), {}, std::move(handler), cost};
    for (auto s : split_path(pattern)) r.segments.emplace_back(s);
    routes_.push_back(std::move(r));
}

bool Router::fits(const Route& route, const std::vector<std::string_view>& parts,
                  std::map<std::string, std::string>* params) {
    if (route.segments.size() != parts.size()) return false;
    for (size_t i = 0; i < parts.size(); ++i) {
        const std::string& seg = route.segments[i];
        if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
            if (parts[i].empty()) return false;
            if (params) (*params)[seg.substr(1, seg.size() - 2)] = std::string(parts[i]);
        } else if (seg != parts[i]) {
            return false;
        }
    }
    return true;
}

Router::Match Router::match(Request& req) const {
    Match m;
    m.status = 404;
    m.route = routes_.size();
    auto parts = split_path(req.path);
    if (parts.empty()) return m;
    for (const auto& route : routes_) {
        std::map<std::string, std::string> params;
        if (!fits(route, parts, &params)) continue;
        // HEAD is a GET without the body, for the routes that only read: a
        // GET that acts (the OAuth callback spends its code and signs in)
        // must not act for a HEAD the browser's prefetch sends.
        bool head = req.method == "HEAD" && route.method == "GET" && route.cost == Cost::cheap;
        if (route.method == req.method || head) {
            req.path_params = std::move(params);
            m.handler = &route.handler;
            m.cost = route.cost;
            m.route = static_cast<size_t>(&route - routes_.data());
            m.status = 200;
            return m;
        }
        m.status = 405;
        if (m.allow.find(route.method) == std::string::npos)
            m.allow += (m.allow.empty() ? "" : ", ") + route.method;
    }
    return m;
}

std::string Router::slash_redirect(const Request& req) const {
    // Only slashes the client wrote as such ("%2F" is no trailing slash), and
    // as many off the decoded path as off the raw one.
    size_t n = 0;
    while (n < req.raw_path.size() && req.raw_path[req.raw_path.size() - 1 - n] == '/') ++n;
    if (n == 0 || n >= req.path.size()) return {};  // none, or nothing but slashes
    std::string_view path(req.path);
    path.remove_suffix(n);
    std::string_view raw(req.raw_path);
    raw.remove_suffix(n);
    // A path-absolute reference, never "//host" or "/\host" (both name
    // another host to a browser); every route's first segment is a word.
    if (raw.size() < 2 || raw[0] != '/' || raw[1] == '/' || raw[1] == '\\') return {};
    auto parts = split_path(path);
    if (parts.empty()) return {};
    for (const auto& route : routes_) {
        if (!fits(route, parts, nullptr)) continue;
        std::string location(raw);
        if (!req.raw_query.empty()) location += "?" + req.raw_query;
        return location;
    }
    return {};
}

std::string Router::route_name(size_t index) const {
    if (index >= routes_.size()) return "unmatched";
    return routes_[index].method + " " + routes_[index].pattern;
}

}  // namespace fu::http
