// RAII owners for cJSON: json::Doc owns a tree, json::Text a printed string;
// and parsing with the rules Python applies that cJSON does not.
#pragma once

#include <cjson/cJSON.h>

#include <memory>
#include <set>
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

// What parse does when an object names a key twice.
enum class DuplicateKeys {
    last_wins,  // as Python's json (and so FastAPI): the later value replaces the earlier
    refuse,     // the text is refused (signed JWT parts: no two readings of one token)
};

// What parse does with a string (value or key) holding a NUL, raw or as the
// escape \u0000, which cJSON decodes into a C string that ends there:
// "a@x.com\u0000zzz" would be read as "a@x.com", another text than the one
// signed or sent.
enum class Nuls {
    refuse,  // the text is refused (anything read from a provider, any token)
    keep,    // a request body: JsonBody refuses a raw NUL, and the values holding
             // \u0000 (keys_with_nul) with a 422 each
};

// Parses exactly `text` (no trailing garbage), at every depth applying
// `duplicates` and `nuls`. Null on malformed input (or a refused duplicate
// or NUL).
Doc parse(std::string_view text, DuplicateKeys duplicates = DuplicateKeys::last_wins,
          Nuls nuls = Nuls::refuse);

// Whether a key anywhere in `text` (already valid JSON) holds the escape
// \u0000: cJSON would read "email\u0000x" as the key "email", where Python
// sees another key.
bool key_with_nul(std::string_view text);

// The keys of the top-level object in `text` (already valid JSON) whose
// string value holds the escape \u0000: cJSON ends its C string there, so
// such a value would be read cut short. The last occurrence of a key decides.
std::set<std::string> keys_with_nul(std::string_view text);

// Appends `text` as a JSON string: quoted, and escaped byte for byte as
// cJSON prints a string (\" \\ \b \f \n \r \t, other bytes below 0x20 as
// \u00xx, everything else as it is), so that an answer written without a
// tree reads the same as one cJSON printed.
void append_string(std::string& out, std::string_view text);

inline std::string print(const cJSON* item) {
    Text t(cJSON_PrintUnformatted(item));
    return t ? std::string(t.get()) : std::string("null");
}

}  // namespace fu::json
