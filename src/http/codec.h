// Decoders for what arrives in a request: percent-encoding, query strings and
// urlencoded forms, Cookie headers and multipart/form-data bodies. All take
// string_view and never throw; malformed input yields what could be decoded
// (bad escapes are kept literally, as browsers and Starlette do).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/utf8.h"

namespace fu::http {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Decodes %XX escapes; with plus_as_space, '+' becomes ' ' (forms and queries).
std::string percent_decode(std::string_view s, bool plus_as_space);
// a=1&b=2&a=3 in order, repeated keys kept, empty values kept, empty pairs skipped.
Pairs parse_urlencoded(std::string_view s);
// "a=b; c=d": the first cookie of a name wins, quotes around values removed.
Pairs parse_cookies(std::string_view header);
// The named parameter of a header value: boundary from "multipart/form-data; boundary=x".
std::optional<std::string> header_param(std::string_view value, std::string_view name);
// The fields of a multipart/form-data body (files are read as their content;
// `files`, when given, gets the index in the result of each part that is a
// file: one with a filename or filename* parameter, as Starlette tells an
// UploadFile).
// nullopt when the body is not well-formed multipart for that boundary.
std::optional<Pairs> parse_multipart(std::string_view body, std::string_view boundary,
                                     std::vector<size_t>* files = nullptr);

// UTF-8 as JSON text must be (util/utf8.h).
using utf8::next_code_point;
inline bool valid_utf8(std::string_view s) {
    return utf8::valid(s);
}

// The value of `key` in `pairs`, if any: the last one when it is there more
// than once, as Starlette reads a form, a query or cookies (`username` sent
// twice in a login form is the second).
const std::string* find(const Pairs& pairs, std::string_view key);

// The media type of a Content-Type value, lower-case, without parameters.
std::string media_type(std::string_view content_type);

}  // namespace fu::http
