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

Router::Match Router::match(Request& req) const {
    Match m;
    m.status = 404;
    m.route = routes_.size();
    auto parts = split_path(req.path);
    if (parts.empty()) return m;
    for (const auto& route : routes_) {
        if (route.segments.size() != parts.size()) continue;
        std::map<std::string, std::string> params;
        bool ok = true;
        for (size_t i = 0; i < parts.size() && ok; ++i) {
            const std::string& seg = route.segments[i];
            if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
                if (parts[i].empty())
                    ok = false;
                else
                    params[seg.substr(1, seg.size() - 2)] = std::string(parts[i]);
            } else {
                ok = seg == parts[i];
            }
        }
        if (!ok) continue;
        if (route.method == req.method || (req.method == "HEAD" && route.method == "GET")) {
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

std::string Router::route_name(size_t index) const {
    if (index >= routes_.size()) return "unmatched";
    return routes_[index].method + " " + routes_[index].pattern;
}

}  // namespace fu::http
