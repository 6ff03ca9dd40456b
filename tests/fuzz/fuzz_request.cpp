// Fuzzes the FastCGI parameters -> Request step: NUL-separated NAME=VALUE
// pairs, as libfcgi hands them over, with any mount prefix.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    fu::http::Pairs params;
    while (!input.empty()) {
        size_t end = input.find('\0');
        std::string_view item = input.substr(0, end);
        size_t eq = item.find('=');
        if (eq != std::string_view::npos)
            params.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
        if (end == std::string_view::npos) break;
        input.remove_prefix(end + 1);
    }
    auto plain = fu::http::request_from_params(params, "");
    auto mounted = fu::http::request_from_params(std::move(params), "/api");
    return plain.path.size() + mounted.path.size() == SIZE_MAX;  // keep both alive
}
