// UTF-8 as MariaDB's utf8mb4 columns and JSON text take it: well-formed, no
// overlong forms, no surrogates, nothing past U+10FFFF.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fu::utf8 {

// The code point of well-formed UTF-8 at s[i] (i < s.size()), i moved past
// it; nullopt (i unmoved) for an overlong form, a surrogate, a code point past
// U+10FFFF or a cut or malformed sequence.
std::optional<char32_t> next_code_point(std::string_view s, size_t& i);

// Whether `s` is well-formed UTF-8.
bool valid(std::string_view s);

// `s` as well-formed UTF-8: each byte that does not begin a well-formed
// sequence replaced by U+FFFD, so text from outside (a command's output) can
// be stored in a utf8mb4 column, which refuses anything else.
std::string scrubbed(std::string_view s);

}  // namespace fu::utf8
