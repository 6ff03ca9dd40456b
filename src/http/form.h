// Form: the fields of an application/x-www-form-urlencoded or
// multipart/form-data body, read as FastAPI reads a form model's text fields
// (OAuth2PasswordRequestForm's for the login, the refresh token's).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/codec.h"
#include "http/request.h"
#include "http/response.h"

namespace fu::http {

struct Form {
    Pairs fields;
    std::vector<size_t> files;  // indexes in `fields` of multipart parts that are files

    // The text of `name` (its last value, as Starlette reads a form), or
    // null when it is missing (and, when `required`, a "Field required" in
    // `problems` for it missing or empty) or a file (FastAPI: "Input should
    // be a valid string", whether required or not).
    const std::string* text(const char* name, bool required,
                            std::vector<FieldError>& problems) const;
};

// The form of a request: nullopt (with a 422 in `error`) for a body of any
// other type, or a multipart body that is not well-formed; an empty form for
// no body at all (every field missing).
std::optional<Form> read_form(const Request& req, Response& error);

}  // namespace fu::http
