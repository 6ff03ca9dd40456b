// Fuzzes the Cookie header parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto cookies =
        fu::http::parse_cookies(std::string_view(reinterpret_cast<const char*>(data), size));
    fu::http::find(cookies, "fastapiusersauth");
    return 0;
}
