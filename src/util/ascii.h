// ASCII case for protocol text (header names, UUIDs, media types): inline,
// and the same whatever the C locale says.
#pragma once

#include <algorithm>
#include <string_view>

namespace fu::ascii {

constexpr char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace fu::ascii
