// Router: (method, path pattern) -> handler, built at start-up and never
// changed. Patterns are literal segments or {name} parameters. A path that
// matches some pattern under another method is 405, not 404.
#pragma once

#include <functional>
#include <map>
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

// How a route's handler is run: cheap ones on the worker that accepted the
// request; those that hash a password on the hash threads, and those that
// wait on an OAuth provider on the outbound threads, so that a storm of them
// (or a provider that hangs) never takes the workers that /users/me needs.
// A HEAD request is served by a GET route of Cost::cheap only (those read);
// the others answer it 405.
enum class Cost { cheap, hashes_password, calls_provider };

class Router {
  public:
    void add(std::string method, std::string_view pattern, Handler handler,
             Cost cost = Cost::cheap);

    struct Match {
        const Handler* handler = nullptr;  // null: see status
        Cost cost = Cost::cheap;
        size_t route = 0;   // index for route_name(); route_count() when none matched
        int status = 200;   // 404 or 405 when no handler
        std::string allow;  // for 405
    };
    // Fills req.path_params on a match.
    Match match(Request& req) const;

    // FastAPI's answer to a path that ends in '/' and that some route knows
    // without it (Starlette's redirect_slashes, whatever the method): the
    // 307's Location, the client's own path without its trailing slashes
    // (mount prefix and query kept). Empty when there is none: then 404.
    std::string slash_redirect(const Request& req) const;

    size_t route_count() const { return routes_.size(); }
    // "GET /users/{id}": the pattern, never the client's path (metrics labels).
    std::string route_name(size_t index) const;

  private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;  // "{id}" for a parameter
        Handler handler;
        Cost cost;
    };
    std::vector<Route> routes_;

    // Whether `parts` fit the route's segments; its parameters into `params`.
    static bool fits(const Route& route, const std::vector<std::string_view>& parts,
                     std::map<std::string, std::string>* params);
};

std::vector<std::string_view> split_path(std::string_view path);

}  // namespace fu::http
