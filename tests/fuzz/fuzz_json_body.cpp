// Fuzzes the JSON body decoder with the field checks of every JSON route:
// register, forgot/request-verify, reset, verify, PATCH /users/me and
// PATCH /users/{id}. Each reads the same body as its handler does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/body.h"
#include "http/request.h"

namespace {

fu::http::Request json_request(const uint8_t* data, size_t size) {
    fu::http::Request req;
    req.method = "POST";
    req.content_type = "application/json";
    req.body.assign(reinterpret_cast<const char*>(data), size);
    req.content_length = static_cast<long long>(size);
    return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto req = json_request(data, size);
    {  // POST /auth/register
        fu::http::JsonBody body(req);
        body.required_email("email");
        body.required_string("password");
        if (body.failed()) body.response();
    }
    {  // POST /auth/forgot-password, /auth/request-verify-token
        fu::http::JsonBody body(req);
        body.required_email("email");
    }
    {  // POST /auth/reset-password
        fu::http::JsonBody body(req);
        body.required_string("token");
        body.required_string("password");
    }
    {  // POST /auth/verify
        fu::http::JsonBody body(req);
        body.required_string("token");
    }
    {  // PATCH /users/me and /users/{id}
        fu::http::JsonBody body(req);
        body.optional_email("email");
        body.optional_string("password", true);
        body.optional_bool("is_active");
        body.optional_bool("is_superuser");
        body.optional_bool("is_verified");
        body.has("email");
        if (body.failed()) body.response();
    }
    return 0;
}
