// Fuzzes the form decoders: urlencoded bodies and queries, percent-decoding,
// Content-Type parameters and multipart/form-data bodies. The first line of
// the input is the Content-Type value, the rest the body.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    size_t nl = input.find('\n');
    std::string_view content_type = input.substr(0, nl);
    std::string_view body =
        nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

    fu::http::parse_urlencoded(body);
    fu::http::percent_decode(body, true);
    fu::http::percent_decode(body, false);
    fu::http::media_type(content_type);
    if (auto boundary = fu::http::header_param(content_type, "boundary")) {
        std::vector<size_t> files;
        auto fields = fu::http::parse_multipart(body, *boundary, &files);
        if (fields)
            for (size_t i : files)
                if (i >= fields->size()) __builtin_trap();  // a file index names a field
    }
    fu::http::valid_utf8(body);
    return 0;
}
