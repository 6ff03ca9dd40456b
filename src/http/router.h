// Router: (method, path pattern) -> handler, built at start-up and never
// changed. Patterns are literal segments or {name} parameters. A path that
// matches some pattern under another method is 405, not 404.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "http/response.h"

namespace fu {
struct Context;
}

namespace fu::http {

using Handler = std::function<Response(const Request&, Context&)>;

class Router {
public:
    void add(std::string method, std::string_view pattern, Handler handler);

    struct Match {
        const Handler* handler = nullptr;  // null: see status
        int status = 200;                  // 404 or 405 when no handler
        std::string allow;                 // for 405
    };
    // Fills req.path_params on a match.
    Match match(Request& req) const;

private:
    struct Route {
        std::string method;
        std::vector<std::string> segments;  // "{id}" for a parameter
        Handler handler;
    };
    std::vector<Route> routes_;
};

std::vector<std::string_view> split_path(std::string_view path);

}  // namespace fu::http
