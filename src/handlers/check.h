// The decision behind GET /auth/check and the FastCGI AUTHORIZER role.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "http/request.h"
#include "http/response.h"

namespace fu {

struct Context;

struct CheckOutcome {
    int status = 401;  // 200, 401, 403, 503, or 500 for a misconfigured FCGI_USERS_REQUIRE
    std::vector<std::pair<std::string, std::string>>
        user;  // (Id, ...), (Email, ...), ... when someone is logged in
};

CheckOutcome check_request(const http::Request& req, Context& ctx);

// The FastCGI AUTHORIZER role (Apache mod_authnz_fcgi): 200 with
// Variable-USER_* headers, which Apache passes on to the protected resource
// as environment variables, or 401/403, by the same decision.
http::Response authorizer_response(const http::Request& req, Context& ctx);

}  // namespace fu
