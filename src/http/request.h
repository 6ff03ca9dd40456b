// Request: everything a handler may read, copied once out of the FastCGI
// parameters (libfcgi frees them at the next Accept/Finish).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "http/codec.h"

namespace fu::http {

struct Request {
    std::string role = "RESPONDER";  // FCGI_ROLE: RESPONDER or AUTHORIZER
    std::string method;
    std::string path;       // decoded, without the mount prefix
    std::string raw_path;   // as sent, mount prefix included
    std::string raw_query;  // as sent
    Pairs query;
    Pairs headers;  // lower-case names, '-' between words: "content-type"
    Pairs cookies;
    std::string content_type;
    long long content_length = -1;  // -1: none given
    std::string body;
    Pairs params;  // the FastCGI parameters as nginx sent them, but for the HTTP_ ones (in headers)
    std::map<std::string, std::string> path_params;  // filled by the Router

    const std::string* header(std::string_view lower_name) const {
        return find(headers, lower_name);
    }
    const std::string* cookie(std::string_view name) const { return find(cookies, name); }
    const std::string* param(std::string_view name) const { return find(params, name); }
};

// Builds a Request from FastCGI parameters (without the body). `mount_prefix`
// is stripped from the path; a path outside it gets an empty path (404).
Request request_from_params(Pairs params, std::string_view mount_prefix);

}  // namespace fu::http
