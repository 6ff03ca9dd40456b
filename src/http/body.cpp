// JSON bodies and login forms read as FastAPI reads them, and pydantic's
// EmailStr rules for addresses.
#include "http/body.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <set>

namespace fu::http {
namespace {

bool is_json_type(const std::string& content_type) {
    std::string mt = media_type(content_type);
    if (mt.empty()) return true;  // FastAPI tries JSON when no type is given
    if (mt == "application/json") return true;
    return mt.rfind("application/", 0) == 0 && mt.size() > 5 &&
           mt.compare(mt.size() - 5, 5, "+json") == 0;
}

// email-validator refuses "unsafe characters" in either part of an address
// (check_unsafe_chars): every code point of Unicode's categories C (control,
// format, surrogate, private use, unassigned) and Z (separators). They make
// one address display as another: "admin@example.com" with a no-break space
// after it, a zero-width space or a right-to-left override inside, a soft
// hyphen in the domain; and MariaDB's collation ignores several of them, so
// plain SQL would find two users for one address. These are those above
// U+007F (ASCII's are no atext anyway): categories C but Cn, and Z, of Unicode
// 14 (Python 3.11's unicodedata) with the format controls Unicode 15 added
// (U+13439..1343F), and Cn's noncharacters; other unassigned code points pass.
constexpr std::pair<char32_t, char32_t> kUnsafe[] = {
    {0x0080, 0x00A0},     // C1 controls, NO-BREAK SPACE
    {0x00AD, 0x00AD},     // SOFT HYPHEN
    {0x0600, 0x0605},     // ARABIC NUMBER SIGN .. ARABIC NUMBER MARK ABOVE
    {0x061C, 0x061C},     // ARABIC LETTER MARK
    {0x06DD, 0x06DD},     // ARABIC END OF AYAH
    {0x070F, 0x070F},     // SYRIAC ABBREVIATION MARK
    {0x0890, 0x0891},     // ARABIC POUND MARK ABOVE, ARABIC PIASTRE MARK ABOVE
    {0x08E2, 0x08E2},     // ARABIC DISPUTED END OF AYAH
    {0x1680, 0x1680},     // OGHAM SPACE MARK
    {0x180E, 0x180E},     // MONGOLIAN VOWEL SEPARATOR
    {0x2000, 0x200F},     // EN QUAD .. ZERO WIDTH SPACE, ZWNJ, ZWJ, LRM, RLM
    {0x2028, 0x202F},     // LINE and PARAGRAPH SEPARATOR, LRE .. RLO, NARROW NO-BREAK SPACE
    {0x205F, 0x2064},     // MEDIUM MATHEMATICAL SPACE, WORD JOINER .. INVISIBLE PLUS
    {0x2066, 0x206F},     // LEFT-TO-RIGHT ISOLATE .. NOMINAL DIGIT SHAPES
    {0x3000, 0x3000},     // IDEOGRAPHIC SPACE
    {0xD800, 0xF8FF},     // surrogates (never valid UTF-8), private use
    {0xFDD0, 0xFDEF},     // noncharacters
    {0xFEFF, 0xFEFF},     // ZERO WIDTH NO-BREAK SPACE (byte order mark)
    {0xFFF9, 0xFFFB},     // INTERLINEAR ANNOTATION ANCHOR .. TERMINATOR
    {0x110BD, 0x110BD},   // KAITHI NUMBER SIGN
    {0x110CD, 0x110CD},   // KAITHI NUMBER SIGN ABOVE
    {0x13430, 0x1343F},   // EGYPTIAN HIEROGLYPH VERTICAL JOINER .. format controls
    {0x1BCA0, 0x1BCA3},   // SHORTHAND FORMAT LETTER OVERLAP .. UP STEP
    {0x1D173, 0x1D17A},   // MUSICAL SYMBOL BEGIN BEAM .. END PHRASE
    {0xE0001, 0xE0001},   // LANGUAGE TAG
    {0xE0020, 0xE007F},   // TAG SPACE .. CANCEL TAG
    {0xF0000, 0x10FFFF},  // private use planes 15 and 16 (and their noncharacters)
};

// A combining mark first in either part would join with what precedes it
// where the address is shown. email-validator refuses every mark (category
// M) there; this refuses those that join Latin, Greek and Cyrillic letters
// (the combining diacritical marks' blocks, Cyrillic's marks) and the
// variation selectors, and lets the other scripts' marks first pass.
constexpr std::pair<char32_t, char32_t> kCombining[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xE0100, 0xE01EF}};

template <size_t N>
bool in(const std::pair<char32_t, char32_t> (&ranges)[N], char32_t cp) {
    return std::any_of(std::begin(ranges), std::end(ranges),
                       [cp](const auto& r) { return cp >= r.first && cp <= r.second; });
}

bool unsafe(char32_t cp) {
    return in(kUnsafe, cp) || (cp & 0xFFFE) == 0xFFFE;  // U+xFFFE, U+xFFFF: noncharacters
}

std::string code_point_name(char32_t cp) {
    char name[16];
    std::snprintf(name, sizeof name, cp <= 0xFFFF ? "U+%04X" : "U+%08X", static_cast<unsigned>(cp));
    return name;
}

// email-validator's message for the unsafe characters of `part` (each once,
// in code point order), or nullopt. It names each by its code point, the form
// email-validator uses for characters without a Unicode name (it gives the
// name where there is one: "NO-BREAK SPACE" for "U+00A0").
std::optional<std::string> unsafe_characters(std::string_view part) {
    std::set<char32_t> bad;
    for (size_t i = 0; i < part.size();) {
        const size_t at = i;
        auto cp = next_code_point(part, i);
        if (!cp) return "The email address contains an invalid character.";
        if (unsafe(*cp) || (at == 0 && in(kCombining, *cp))) bad.insert(*cp);
    }
    if (bad.empty()) return std::nullopt;
    std::string message = "The email address contains unsafe characters: ";
    for (char32_t cp : bad) message += (cp == *bad.begin() ? "" : ", ") + code_point_name(cp);
    return message + ".";
}

bool atext(unsigned char c) {
    if (c >= 0x80) return true;  // internationalised addresses
    if (std::isalnum(c)) return true;
    return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != 0;
}

}  // namespace

JsonBody::JsonBody(const Request& req) {
    if (req.body.empty()) {
        errors_.push_back({{"body"}, "Field required", "missing"});
        return;
    }
    if (!is_json_type(req.content_type)) {
        errors_.push_back({{"body"},
                           "Input should be a valid dictionary or object to extract fields from",
                           "model_attributes_type"});
        return;
    }
    // MariaDB refuses malformed UTF-8 (a 500 there); JSON text must be UTF-8 anyway.
    if (!valid_utf8(req.body)) {
        errors_.push_back(
            {{"body", 0}, "JSON decode error: the body is not UTF-8", "json_invalid"});
        return;
    }
    // A raw NUL is never valid JSON (Python refuses it), and cJSON would end a string there.
    if (req.body.find('\0') != std::string::npos) {
        errors_.push_back({{"body", 0}, "JSON decode error: a NUL byte", "json_invalid"});
        return;
    }
    doc_ = json::parse(req.body, json::DuplicateKeys::last_wins, json::Nuls::keep);
    if (!doc_) {
        errors_.push_back({{"body", 0}, "JSON decode error", "json_invalid"});
        return;
    }
    if (!cJSON_IsObject(doc_.get())) {
        errors_.push_back({{"body"},
                           "Input should be a valid dictionary or object to extract fields from",
                           "model_attributes_type"});
        return;
    }
    // cJSON would read the key "email\u0000x" as "email" (Python: another key).
    if (json::key_with_nul(req.body)) {
        errors_.push_back({{"body", 0}, "JSON decode error: a NUL in a key", "json_invalid"});
        return;
    }
    nul_fields_ = json::keys_with_nul(req.body);
    parsed_ = true;
}

// cJSON's C string ends at a \u0000, so the value read would be cut short
// ("a@example.com\u0000<script>" read as "a@example.com"): refused instead.
bool JsonBody::holds_nul(const char* name) {
    if (!nul_fields_.count(name)) return false;
    add(name, "String should not contain a NUL character", "string_type");
    return true;
}

const cJSON* JsonBody::field(const char* name) const {
    return parsed_ ? cJSON_GetObjectItemCaseSensitive(doc_.get(), name) : nullptr;
}

bool JsonBody::has(const char* name) const {
    return field(name) != nullptr;
}

void JsonBody::add(const char* name, std::string msg, std::string type) {
    errors_.push_back({{"body", std::string(name)}, std::move(msg), std::move(type)});
}

std::optional<std::string> JsonBody::required_string(const char* name) {
    if (!parsed_) return std::nullopt;
    const cJSON* f = field(name);
    if (!f) {
        add(name, "Field required", "missing");
        return std::nullopt;
    }
    if (!cJSON_IsString(f)) {
        add(name, "Input should be a valid string", "string_type");
        return std::nullopt;
    }
    if (holds_nul(name)) return std::nullopt;
    return std::string(f->valuestring);
}

std::optional<std::string> JsonBody::optional_string(const char* name, bool null_ok) {
    if (!parsed_) return std::nullopt;
    const cJSON* f = field(name);
    if (!f || (null_ok && cJSON_IsNull(f))) return std::nullopt;
    if (!cJSON_IsString(f)) {
        add(name, "Input should be a valid string", "string_type");
        return std::nullopt;
    }
    if (holds_nul(name)) return std::nullopt;
    return std::string(f->valuestring);
}

std::optional<std::string> JsonBody::required_email(const char* name) {
    auto s = required_string(name);
    if (!s) return s;
    s = email_input(*s);
    if (auto problem = email_problem(*s)) {
        add(name, "value is not a valid email address: " + *problem, "value_error");
        return std::nullopt;
    }
    return s;
}

std::optional<std::string> JsonBody::optional_email(const char* name) {
    auto s = optional_string(name, false);
    if (!s) return s;
    s = email_input(*s);
    if (auto problem = email_problem(*s)) {
        add(name, "value is not a valid email address: " + *problem, "value_error");
        return std::nullopt;
    }
    return s;
}

std::optional<bool> JsonBody::optional_bool(const char* name) {
    const cJSON* f = field(name);
    // null is not given: FastAPI Users declares the flags Optional[bool].
    if (!f || cJSON_IsNull(f)) return std::nullopt;
    if (cJSON_IsBool(f)) return cJSON_IsTrue(f);
    if (cJSON_IsNumber(f) && (f->valuedouble == 0 || f->valuedouble == 1))
        return f->valuedouble == 1;
    if (cJSON_IsString(f)) {
        std::string v = f->valuestring;
        std::transform(v.begin(), v.end(), v.begin(), ::tolower);
        for (const char* t : {"true", "1", "yes", "on", "t", "y"})
            if (v == t) return true;
        for (const char* t : {"false", "0", "no", "off", "f", "n"})
            if (v == t) return false;
    }
    add(name, "Input should be a valid boolean", "bool_type");
    return std::nullopt;
}

namespace {

// The length of the whitespace (Python's str.isspace) that begins `s`, or 0.
size_t space_at(std::string_view s) {
    if (s.empty()) return 0;
    unsigned char c = static_cast<unsigned char>(s[0]);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    size_t i = 0;
    std::optional<char32_t> cp = utf8::next_code_point(s, i);
    if (!cp) return 0;
    char32_t u = *cp;
    bool space = u == 0x85 || u == 0xa0 || u == 0x1680 || (u >= 0x2000 && u <= 0x200a) ||
                 u == 0x2028 || u == 0x2029 || u == 0x202f || u == 0x205f || u == 0x3000;
    return space ? i : 0;
}

// The length of the whitespace that ends `s`, or 0.
size_t space_before_end(std::string_view s) {
    for (size_t len = 1; len <= 3 && len <= s.size(); ++len) {
        std::string_view tail = s.substr(s.size() - len);
        if (space_at(tail) == len) return len;
    }
    return 0;
}

std::string_view stripped(std::string_view s) {
    for (size_t n; (n = space_at(s)) > 0;) s.remove_prefix(n);
    for (size_t n; (n = space_before_end(s)) > 0;) s.remove_suffix(n);
    return s;
}

// The length of the character of pydantic's unquoted display name that
// begins `s` (\w, or one of !#$%&'*+-/=?^_`{|}~), or 0. Python's \w takes
// the letters and digits of every script; without Unicode's tables this
// takes every character past ASCII but Latin-1's signs, spaces, marks,
// invisible and private characters (kUnsafe, kCombining), and the blocks of
// punctuation, arrows, mathematical and other symbols (U+2010..U+2BFF,
// U+3000..U+303F).
size_t name_char_at(std::string_view s) {
    unsigned char c = static_cast<unsigned char>(s[0]);
    if (c < 0x80)
        return c != 0 && (std::isalnum(c) || std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr) ? 1
                                                                                               : 0;
    size_t i = 0;
    std::optional<char32_t> cp = utf8::next_code_point(s, i);
    if (!cp) return 0;
    char32_t u = *cp;
    const bool latin1_sign = u <= 0xBF && u != 0xAA && u != 0xB2 && u != 0xB3 && u != 0xB5 &&
                             u != 0xB9 && u != 0xBA && (u < 0xBC || u > 0xBE);
    if (latin1_sign || u == 0xD7 || u == 0xF7 || unsafe(u) || in(kCombining, u) ||
        (u >= 0x2010 && u <= 0x2BFF) || (u >= 0x3000 && u <= 0x303F))
        return 0;
    return i;
}

// Of a "pretty" address (pydantic's pretty_email_regex, matched whole), the
// text between < and >; nullopt when `s` is none.
std::optional<std::string_view> pretty_address(std::string_view s) {
    s = stripped(s);
    if (s.empty() || s.back() != '>') return std::nullopt;
    size_t lt;
    if (s.front() == '"') {
        // "...": the name ends at a quote that whitespace and '<' follow (the
        // last such, as the regex's greedy group finds it).
        lt = std::string_view::npos;
        for (size_t q = s.size(); q-- > 1;) {
            if (s[q] != '"') continue;
            std::string_view after = stripped(s.substr(q + 1));
            if (!after.empty() && after.front() == '<' && q >= 2) {
                lt = s.size() - after.size();
                break;
            }
        }
        if (lt == std::string_view::npos) return std::nullopt;
    } else {
        // Words of name characters with whitespace between them, or none.
        size_t i = 0;
        while (i < s.size() && s[i] != '<') {
            if (size_t n = space_at(s.substr(i))) {
                i += n;
            } else if (size_t m = name_char_at(s.substr(i))) {
                i += m;
            } else {
                return std::nullopt;
            }
        }
        if (i == s.size()) return std::nullopt;
        lt = i;
    }
    std::string_view inside = s.substr(lt + 1, s.size() - lt - 2);
    if (stripped(inside).empty()) return std::nullopt;
    return inside;
}

}  // namespace

std::string email_input(std::string_view sent) {
    // pydantic refuses longer input before reading it (MAX_EMAIL_LENGTH):
    // left whole, it is refused as too long.
    if (sent.size() > 2048) return std::string(sent);
    if (auto inside = pretty_address(sent)) return std::string(stripped(*inside));
    return std::string(stripped(sent));
}

std::optional<std::string> email_problem(std::string_view email) {
    if (email.size() > 2048) return "Length must not exceed 2048 characters";  // pydantic's own
    size_t at = email.rfind('@');
    if (at == std::string_view::npos) return "An email address must have an @-sign.";
    std::string_view local = email.substr(0, at);
    std::string_view domain = email.substr(at + 1);
    if (local.empty()) return "There must be something before the @-sign.";
    if (domain.empty()) return "There must be something after the @-sign.";
    if (local.size() > 64) return "The email address is too long before the @-sign.";
    if (auto problem = unsafe_characters(local)) return problem;
    if (auto problem = unsafe_characters(domain)) return problem;
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
        return "The part before the @-sign has a misplaced period.";
    for (unsigned char c : local)
        if (c != '.' && !atext(c))
            return "The email address contains invalid characters before the @-sign.";
    if (domain.size() > 253) return "The email address is too long after the @-sign.";
    if (domain.find('.') == std::string_view::npos)
        return "The part after the @-sign is not valid. It should have a period.";
    size_t start = 0;
    while (start <= domain.size()) {
        size_t dot = domain.find('.', start);
        std::string_view label = domain.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63)
            return "An email address cannot have an empty or too long domain label.";
        if (label.front() == '-' || label.back() == '-')
            return "An email address cannot have a hyphen at the start or end of a domain label.";
        for (unsigned char c : label)
            if (!(std::isalnum(c) || c == '-' || c >= 0x80))
                return "The part after the @-sign contains invalid characters.";
        // RFC 5890's reserved labels: two characters then two hyphens, but
        // Punycode's "xn--".
        if (label.size() >= 4 && label.substr(2, 2) == "--" &&
            !(std::tolower(static_cast<unsigned char>(label[0])) == 'x' &&
              std::tolower(static_cast<unsigned char>(label[1])) == 'n'))
            return "An email address cannot have two letters followed by two dashes immediately "
                   "after the @-sign or after a period, except Punycode.";
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    std::string tld(domain.substr(domain.rfind('.') + 1));
    std::transform(tld.begin(), tld.end(), tld.begin(), ::tolower);
    // Every top-level domain ends with a letter (an internationalised one is
    // checked as written: its Punycode form is not computed here).
    auto last = static_cast<unsigned char>(tld.back());
    if (last < 0x80 && !std::isalpha(last))
        return "The part after the @-sign is not valid. It is not within a valid top-level "
               "domain.";
    for (const char* special : {"arpa", "invalid", "local", "localhost", "onion", "test"})
        if (tld == special)
            return "The part after the @-sign is a special-use or reserved name that cannot be "
                   "used with email.";
    // The whole address, as sent on the wire: at most 254 characters (an
    // internationalised one: 254 bytes of UTF-8).
    constexpr size_t kMaxLength = 254;
    if (email.size() > kMaxLength) {
        bool ascii = std::all_of(email.begin(), email.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
        size_t over = email.size() - kMaxLength;
        return std::string("The email address is too long (") + (ascii ? "" : "at least ") +
               std::to_string(over) + " character" + (over > 1 ? "s" : "") + " too many).";
    }
    return std::nullopt;
}

}  // namespace fu::http
