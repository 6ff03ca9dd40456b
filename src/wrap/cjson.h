// RAII owners for cJSON: json::Doc owns a tree, json::Text a printed string.
#pragma once

#include <cjson/cJSON.h>

#include <memory>
#include <string>
#include <string_view>

namespace fu::json {

struct DocDeleter {
    void operator()(cJSON* p) const { cJSON_Delete(p); }
};
using Doc = std::unique_ptr<cJSON, DocDeleter>;

struct TextDeleter {
    void operator()(char* p) const { cJSON_free(p); }
};
using Text = std::unique_ptr<char, TextDeleter>;

// Parses exactly `text` (no trailing garbage). Null on malformed input.
inline Doc parse(std::string_view text) {
    const char* end = nullptr;
    Doc d(cJSON_ParseWithLengthOpts(text.data(), text.size(), &end, false));
    if (!d) return d;
    while (end < text.data() + text.size() && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        ++end;
    if (end != text.data() + text.size()) d.reset();
    return d;
}

inline std::string print(const cJSON* item) {
    Text t(cJSON_PrintUnformatted(item));
    return t ? std::string(t.get()) : std::string("null");
}

}  // namespace fu::json
