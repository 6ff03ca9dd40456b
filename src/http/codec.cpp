// Percent-decoding, urlencoded pairs, cookies and multipart/form-data.
#include "http/codec.h"

#include <algorithm>

#include "util/ascii.h"

namespace fu::http {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_as_space) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += (plus_as_space && c == '+') ? ' ' : c;
    }
    return out;
}

Pairs parse_urlencoded(std::string_view s) {
    Pairs out;
    while (!s.empty()) {
        size_t amp = s.find('&');
        std::string_view part = s.substr(0, amp);
        s = amp == std::string_view::npos ? std::string_view{} : s.substr(amp + 1);
        if (part.empty()) continue;
        size_t eq = part.find('=');
        std::string_view k = part.substr(0, eq);
        std::string_view v =
            eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
        out.emplace_back(percent_decode(k, true), percent_decode(v, true));
    }
    return out;
}

Pairs parse_cookies(std::string_view header) {
    Pairs out;
    while (!header.empty()) {
        size_t semi = header.find(';');
        std::string_view part = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        size_t eq = part.find('=');
        if (part.empty() || eq == std::string_view::npos) continue;
        std::string_view k = trim(part.substr(0, eq));
        std::string_view v = trim(part.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        if (k.empty()) continue;
        // A name sent twice: find() reads the last, as Starlette's cookie parser.
        out.emplace_back(std::string(k), std::string(v));
    }
    return out;
}

std::optional<std::string> header_param(std::string_view value, std::string_view name) {
    size_t semi = value.find(';');
    while (semi != std::string_view::npos) {
        value = value.substr(semi + 1);
        semi = value.find(';');
        std::string_view part = trim(value.substr(0, semi));
        size_t eq = part.find('=');
        if (eq == std::string_view::npos) continue;
        if (!ascii::iequals(trim(part.substr(0, eq)), name)) continue;
        std::string_view v = trim(part.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        return std::string(v);
    }
    return std::nullopt;
}

std::optional<Pairs> parse_multipart(std::string_view body, std::string_view boundary,
                                     std::vector<size_t>* files) {
    if (boundary.empty() || boundary.size() > 200) return std::nullopt;
    const std::string delim = "--" + std::string(boundary);
    Pairs out;
    size_t pos = body.find(delim);
    if (pos == std::string_view::npos) return std::nullopt;
    pos += delim.size();
    for (;;) {
        if (body.substr(pos, 2) == "--") return out;  // closing delimiter
        if (body.substr(pos, 2) != "\r\n") return std::nullopt;
        pos += 2;
        size_t head_end = body.find("\r\n\r\n", pos);
        if (head_end == std::string_view::npos) return std::nullopt;
        std::string_view head = body.substr(pos, head_end - pos);
        size_t next = body.find("\r\n" + delim, head_end + 4);
        if (next == std::string_view::npos) return std::nullopt;
        std::string_view content = body.substr(head_end + 4, next - head_end - 4);
        std::optional<std::string> name;
        bool file = false;
        while (!head.empty()) {
            size_t eol = head.find("\r\n");
            std::string_view line = head.substr(0, eol);
            head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
            size_t colon = line.find(':');
            if (colon != std::string_view::npos &&
                ascii::iequals(trim(line.substr(0, colon)), "content-disposition")) {
                std::string_view disposition = line.substr(colon + 1);
                name = header_param(disposition, "name");
                // RFC 5987's filename* too: python-multipart reads it as filename.
                file =
                    header_param(disposition, "filename") || header_param(disposition, "filename*");
            }
        }
        if (!name) return std::nullopt;
        if (file && files) files->push_back(out.size());
        out.emplace_back(*name, std::string(content));
        pos = next + 2 + delim.size();
    }
}

const std::string* find(const Pairs& pairs, std::string_view key) {
    for (auto it = pairs.rbegin(); it != pairs.rend(); ++it)
        if (it->first == key) return &it->second;
    return nullptr;
}

std::string media_type(std::string_view content_type) {
    std::string_view t = trim(content_type.substr(0, content_type.find(';')));
    return ascii::lowered(t);
}

}  // namespace fu::http
