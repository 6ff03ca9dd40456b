// The revoked token ids a user row carries (column user.revoked_ids), so that
// the statement reading the row on the authenticated hot path also says
// whether a token was logged out. The text is "<id>:<until>" entries
// separated by single spaces: an id (jti, sid or a token's SHA-256, base64url,
// at most 43 characters) and the Unix second until which it is refused (the
// token's own expiry). Pure functions: unit-tested without a database.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fu {

// At most this many ids live in one row (64 × 55 characters fit the column's
// 4096); a revocation that would need more ends all the user's sessions.
inline constexpr size_t kMaxRevokedIds = 64;
// An entry is pruned only this long after its own expiry, so that a host
// whose clock runs behind still finds it while it accepts the token.
inline constexpr long long kRevokedIdGrace = 300;

struct RevokedId {
    std::string_view id;
    long long until = 0;  // Unix seconds
};

// The row's new text and its latest expiry (user.revoked_ids_until).
struct RevokedIds {
    std::string text;  // empty: nothing left (the column becomes NULL)
    long long until = 0;
};

// Whether `id` (empty matches nothing) is one of `text`'s ids.
bool revoked_ids_contain(std::string_view text, std::string_view id);

// A valid id: 1 to 43 base64url characters.
bool revoked_id_valid(std::string_view id);

// `text` with `add` (valid ids; an id already there keeps the later expiry),
// without the entries that expired more than kRevokedIdGrace before `now`;
// nullopt when the result would hold more than kMaxRevokedIds ids.
std::optional<RevokedIds> revoked_ids_add(std::string_view text, std::span<const RevokedId> add,
                                          long long now);

}  // namespace fu
