// Response: what a handler returns; fcgi/ writes it. Error bodies follow the
// shapes of API.md (FastAPI's {"detail": ...}).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "wrap/cjson.h"

namespace fu::http {

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // Work to do once the answer has been sent and the request finished, on
    // the same thread (fcgi/ runs it; exceptions are logged, not answered).
    std::function<void()> after;

    Response& with_header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

// One entry of a 422 list: loc is e.g. ["body", "email"].
struct FieldError {
    std::vector<std::variant<std::string, int>> loc;
    std::string msg;
    std::string type;
};

Response json_response(int status, const cJSON* body);
Response json_text(int status, std::string body);
Response no_content();
Response detail(int status, std::string_view text);
Response bad_request(std::string_view code);
Response bad_request(std::string_view code, std::string_view reason);
Response unauthorized();
Response forbidden();
Response not_found();
Response temporary_redirect(std::string location);  // 307, no body, as Starlette's
Response method_not_allowed(const std::string& allow);
Response payload_too_large();
Response unprocessable(const std::vector<FieldError>& errors);
Response service_unavailable();
Response internal_error();

const char* reason_phrase(int status);
// The FastCGI (CGI) response: Status line, headers, blank line, body.
std::string serialize(const Response& r);

}  // namespace fu::http
