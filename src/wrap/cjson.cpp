// Parsing with cJSON, plus what cJSON leaves out: it keeps every duplicate
// key (and its lookups find the first, where Python keeps the last), and it
// decodes \u0000 into a C string that then ends early.
#include "wrap/cjson.h"

#include <cstring>
#include <unordered_set>

namespace fu::json {
namespace {

// Walking each object's members from the last: the first time a name is
// seen it is the one Python keeps; every earlier one is dropped (or refused).
// Objects of up to kSmallObject members (a token's claims, a request body)
// compare names pairwise in place, allocating nothing; larger ones use a
// hash set, so that many members cost no more than linear time.
constexpr size_t kSmallObject = 16;

class SeenNames {
  public:
    explicit SeenNames(size_t members) : small_(members <= kSmallObject) {
        if (!small_) large_.reserve(members);
    }
    // False when `name` was seen before.
    bool insert(std::string_view name) {
        if (!small_) return large_.insert(name).second;
        for (size_t i = 0; i < count_; ++i)
            if (names_[i] == name) return false;
        names_[count_++] = name;
        return true;
    }

  private:
    bool small_;
    size_t count_ = 0;
    std::string_view names_[kSmallObject];
    std::unordered_set<std::string_view> large_;
};

bool apply_duplicates(cJSON* item, DuplicateKeys duplicates) {
    if (!cJSON_IsObject(item) && !cJSON_IsArray(item)) return true;
    if (cJSON_IsObject(item) && item->child) {
        SeenNames seen(static_cast<size_t>(cJSON_GetArraySize(item)));
        cJSON* member = item->child->prev;  // cJSON keeps the last member in child->prev
        while (member) {
            cJSON* earlier = member == item->child ? nullptr : member->prev;
            if (!seen.insert(member->string ? member->string : "")) {
                if (duplicates == DuplicateKeys::refuse) return false;
                cJSON_Delete(cJSON_DetachItemViaPointer(item, member));
            }
            member = earlier;
        }
    }
    for (cJSON* child = item->child; child; child = child->next)
        if (!apply_duplicates(child, duplicates)) return false;
    return true;
}

// A key as written between its quotes, with its escapes decoded by cJSON.
std::string decoded_key(std::string_view raw) {
    if (raw.find('\\') == std::string_view::npos) return std::string(raw);
    std::string quoted = "\"" + std::string(raw) + "\"";
    Doc d(cJSON_ParseWithLength(quoted.data(), quoted.size()));
    return cJSON_IsString(d.get()) ? std::string(d->valuestring) : std::string(raw);
}

// Whether valid JSON `text` has a NUL in a string: a raw one (cJSON takes it
// inside a string) or the escape \u0000 (a backslash is always inside a
// string there, and starts an escape).
bool has_nul(std::string_view text) {
    if (text.find('\0') != std::string_view::npos) return true;
    for (size_t i = text.find('\\'); i != std::string_view::npos; i = text.find('\\', i + 2))
        if (text.compare(i + 1, 5, "u0000") == 0) return true;
    return false;
}

// The string whose opening quote is at text[open]: the index of its closing
// quote (text.size() if cut short), and whether it holds the escape \u0000.
struct StringEnd {
    size_t close;
    bool nul;
};
StringEnd string_end(std::string_view text, size_t open) {
    StringEnd out{open + 1, false};
    for (; out.close < text.size() && text[out.close] != '"'; ++out.close) {
        if (text[out.close] != '\\') continue;
        if (text.compare(out.close + 1, 5, "u0000") == 0) out.nul = true;
        ++out.close;  // the escaped character: \" does not end the string
    }
    return out;
}

}  // namespace

Doc parse(std::string_view text, DuplicateKeys duplicates, Nuls nuls) {
    const char* end = nullptr;
    Doc d(cJSON_ParseWithLengthOpts(text.data(), text.size(), &end, false));
    if (!d) return d;
    while (end < text.data() + text.size() &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        ++end;
    if (end != text.data() + text.size() || !apply_duplicates(d.get(), duplicates) ||
        (nuls == Nuls::refuse && has_nul(text)))
        d.reset();
    return d;
}

void append_string(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != '"' && c != '\\') {
            out += ch;
            continue;
        }
        out += '\\';
        switch (c) {
            case '"':
            case '\\':
                out += ch;
                break;
            case '\b':
                out += 'b';
                break;
            case '\f':
                out += 'f';
                break;
            case '\n':
                out += 'n';
                break;
            case '\r':
                out += 'r';
                break;
            case '\t':
                out += 't';
                break;
            default:
                out += "u00";
                out += kHex[c >> 4];
                out += kHex[c & 0xf];
        }
    }
    out += '"';
}

bool key_with_nul(std::string_view text) {
    for (size_t i = text.find('"'); i != std::string_view::npos; i = text.find('"', i + 1)) {
        StringEnd str = string_end(text, i);
        i = str.close;
        size_t next = text.find_first_not_of(" \t\r\n", i + 1);
        if (str.nul && next != std::string_view::npos && text[next] == ':') return true;
    }
    return false;
}

std::set<std::string> keys_with_nul(std::string_view text) {
    std::set<std::string> out;
    int depth = 0;
    bool expecting_key = false;  // inside the top-level object, before a ':'
    std::string key;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '{' || c == '[') {
            ++depth;
            expecting_key = depth == 1 && c == '{';
        } else if (c == '}' || c == ']') {
            --depth;
        } else if (c == ',' && depth == 1) {
            expecting_key = true;
        } else if (c == '"') {
            StringEnd str = string_end(text, i);
            std::string_view raw = text.substr(i + 1, str.close - i - 1);
            const bool nul = str.nul;
            i = str.close;
            if (depth != 1) continue;
            if (expecting_key) {
                key = decoded_key(raw);
                out.erase(key);  // a later occurrence replaces an earlier one
                expecting_key = false;
            } else if (nul) {
                out.insert(key);
            }
        }
    }
    return out;
}

}  // namespace fu::json
