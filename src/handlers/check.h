// The decision behind GET /auth/check and the FastCGI AUTHORIZER role.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "http/request.h"

namespace fu {

struct Context;

struct CheckOutcome {
    int status = 401;  // 200, 401, 403 or 503
    std::vector<std::pair<std::string, std::string>> user;  // (Id, ...), (Email, ...), ... when someone is logged in
};

CheckOutcome check_request(const http::Request& req, Context& ctx);

}  // namespace fu
