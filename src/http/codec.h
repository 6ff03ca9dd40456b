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
// The fields of a multipart/form-data body (files are read as their content).
// nullopt when the body is not well-formed multipart for that boundary.
std::optional<Pairs> parse_multipart(std::string_view body, std::string_view boundary);

// The code point of well-formed UTF-8 at s[i] (i < s.size()), i moved past
// it; nullopt (i unmoved) for an overlong form, a surrogate, a code point past
// U+10FFFF or a cut or malformed sequence.
std::optional<char32_t> next_code_point(std::string_view s, size_t& i);

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or code points
// past U+10FFFF), as JSON text must be.
bool valid_utf8(std::string_view s);

// First value of `key` in `pairs`, if any.
const std::string* find(const Pairs& pairs, std::string_view key);

// The media type of a Content-Type value, lower-case, without parameters.
std::string media_type(std::string_view content_type);

}  // namespace fu::http
