// The error bodies of the contract and the CGI-style serialisation of a Response.
#include "http/response.h"

namespace fu::http {

Response json_response(int status, const cJSON* body) {
    return json_text(status, json::print(body));
}

Response json_text(int status, std::string body) {
    Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    return r;
}

Response no_content() {
    Response r;
    r.status = 204;
    return r;
}

Response detail(int status, std::string_view text) {
    json::Doc d(cJSON_CreateObject());
    cJSON_AddItemToObject(d.get(), "detail", cJSON_CreateString(std::string(text).c_str()));
    return json_response(status, d.get());
}

Response bad_request(std::string_view code) {
    return detail(400, code);
}

Response bad_request(std::string_view code, std::string_view reason) {
    json::Doc d(cJSON_CreateObject());
    cJSON* inner = cJSON_AddObjectToObject(d.get(), "detail");
    cJSON_AddItemToObject(inner, "code", cJSON_CreateString(std::string(code).c_str()));
    cJSON_AddItemToObject(inner, "reason", cJSON_CreateString(std::string(reason).c_str()));
    return json_response(400, d.get());
}

Response unauthorized() {
    Response r = detail(401, "Unauthorized");
    r.with_header("WWW-Authenticate", "Bearer");
    return r;
}

Response forbidden() {
    return detail(403, "Forbidden");
}
Response not_found() {
    return detail(404, "Not Found");
}

Response temporary_redirect(std::string location) {
    Response r;
    r.status = 307;
    r.with_header("Location", std::move(location));
    return r;
}

Response method_not_allowed(const std::string& allow) {
    Response r = detail(405, "Method Not Allowed");
    r.with_header("Allow", allow);
    return r;
}

Response payload_too_large() {
    return detail(413, "Request Entity Too Large");
}

Response unprocessable(const std::vector<FieldError>& errors) {
    json::Doc d(cJSON_CreateObject());
    cJSON* list = cJSON_AddArrayToObject(d.get(), "detail");
    for (const auto& e : errors) {
        cJSON* item = cJSON_CreateObject();
        cJSON* loc = cJSON_AddArrayToObject(item, "loc");
        for (const auto& part : e.loc) {
            if (const auto* s = std::get_if<std::string>(&part))
                cJSON_AddItemToArray(loc, cJSON_CreateString(s->c_str()));
            else
                cJSON_AddItemToArray(loc, cJSON_CreateNumber(std::get<int>(part)));
        }
        cJSON_AddItemToObject(item, "msg", cJSON_CreateString(e.msg.c_str()));
        cJSON_AddItemToObject(item, "type", cJSON_CreateString(e.type.c_str()));
        cJSON_AddItemToArray(list, item);
    }
    return json_response(422, d.get());
}

Response service_unavailable() {
    return detail(503, "Service Unavailable");
}
Response internal_error() {
    return detail(500, "Internal Server Error");
}

const char* reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 307:
            return "Temporary Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 413:
            return "Request Entity Too Large";
        case 422:
            return "Unprocessable Entity";
        case 429:
            return "Too Many Requests";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

std::string serialize(const Response& r) {
    std::string out;
    out.reserve(128 + r.body.size());
    out += "Status: ";
    out += std::to_string(r.status);
    out += ' ';
    out += reason_phrase(r.status);
    out += "\r\n";
    for (const auto& [k, v] : r.headers) {
        out += k;
        out += ": ";
        // Values can come from the database (an e-mail set with plain SQL): a
        // CR or LF must never split the answer into forged headers.
        for (char c : v)
            if (c != '\r' && c != '\n') out += c;
        out += "\r\n";
    }
    if (r.status != 204 && r.status != 304) {
        out += "Content-Length: ";
        out += std::to_string(r.body.size());
        out += "\r\n";
    }
    out += "\r\n";
    if (r.status != 204) out += r.body;
    return out;
}

}  // namespace fu::http
