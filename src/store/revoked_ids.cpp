// The revoked-ids text of a user row (see revoked_ids.h).
#include "store/revoked_ids.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace fu {
namespace {

struct Entry {
    std::string id;
    long long until = 0;
};

// Calls `f(id, until)` for each well-formed entry of `text`; a malformed
// entry (edited by hand) is skipped, never matched by a prefix.
template <typename F>
void for_each_entry(std::string_view text, F&& f) {
    while (!text.empty()) {
        size_t end = text.find(' ');
        std::string_view entry = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        size_t colon = entry.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view id = entry.substr(0, colon);
        std::string_view until = entry.substr(colon + 1);
        long long value = 0;
        auto [ptr, ec] = std::from_chars(until.data(), until.data() + until.size(), value);
        if (ec != std::errc{} || ptr != until.data() + until.size() || !revoked_id_valid(id))
            continue;
        f(id, value);
    }
}

}  // namespace

bool revoked_id_valid(std::string_view id) {
    if (id.empty() || id.size() > 43) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

bool revoked_ids_contain(std::string_view text, std::string_view id) {
    if (id.empty()) return false;
    bool found = false;
    for_each_entry(text, [&](std::string_view entry_id, long long) { found |= entry_id == id; });
    return found;
}

std::optional<RevokedIds> revoked_ids_add(std::string_view text, std::span<const RevokedId> add,
                                          long long now) {
    std::vector<Entry> entries;
    for_each_entry(text, [&](std::string_view id, long long until) {
        if (until + kRevokedIdGrace >= now) entries.push_back({std::string(id), until});
    });
    for (const RevokedId& r : add) {
        auto same = std::find_if(entries.begin(), entries.end(),
                                 [&](const Entry& e) { return e.id == r.id; });
        if (same != entries.end())
            same->until = std::max(same->until, r.until);
        else
            entries.push_back({std::string(r.id), r.until});
    }
    if (entries.size() > kMaxRevokedIds) return std::nullopt;
    RevokedIds out;
    for (const Entry& e : entries) {
        if (!out.text.empty()) out.text += ' ';
        out.text += e.id + ':' + std::to_string(e.until);
        out.until = std::max(out.until, e.until);
    }
    return out;
}

}  // namespace fu
