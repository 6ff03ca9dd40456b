// Keys, client addresses and the calls of the login throttle (see
// login_throttle.h). Keys are hashed: the table holds no e-mail or address.
#include "auth/login_throttle.h"

#include <algorithm>

#include "wrap/sodium.h"

namespace fu {
namespace {

std::string key_of(std::string_view kind, std::string_view value) {
    std::string text(kind);
    text += ':';
    text += value;
    return sodium::sha256_base64url(text);
}

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

}  // namespace

std::string LoginThrottle::client_address(const http::Request& req) const {
    const std::string* remote = req.param("REMOTE_ADDR");
    std::string addr = remote ? *remote : std::string();
    const auto& trusted = config_.sessions.trusted_proxies;
    auto is_trusted = [&](const std::string& a) {
        return std::find(trusted.begin(), trusted.end(), a) != trusted.end();
    };
    const std::string* xff = req.header("x-forwarded-for");
    if (!xff || !is_trusted(addr)) return addr;
    // Right to left: each trusted proxy vouches for the address before it.
    std::string_view rest = *xff;
    while (!rest.empty()) {
        size_t comma = rest.rfind(',');
        std::string hop = trimmed(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        if (hop.empty()) continue;
        if (!is_trusted(hop)) return hop;
        addr = hop;
    }
    return addr;
}

long LoginThrottle::first_wait() const {
    return std::max<long>(1, config_.sessions.throttle_window / 60);
}

Result<LoginThrottle::Attempt, db::DbError> LoginThrottle::begin(std::string_view email,
                                                                 std::string_view address) {
    const SessionConfig& s = config_.sessions;
    Attempt a;
    if (s.throttle_address_failures > 0)
        a.address = {key_of("address", address), s.throttle_address_failures};
    const bool count_account = s.throttle_account_failures > 0;
    auto found = store_.lookup_login(email, count_account, a.address.key);
    if (!found) return found.error();
    a.lookup = std::move(*found);
    if (count_account) a.account = {a.lookup.account_key, s.throttle_account_failures};
    return a;
}

Result<Unit, db::DbError> LoginThrottle::failed(const Attempt& a) {
    return store_.record_failure({a.account, a.address}, config_.sessions.throttle_window,
                                 first_wait());
}

Result<Unit, db::DbError> LoginThrottle::succeeded(const Attempt& a) {
    if (!a.lookup.account_counted) return Unit{};
    return store_.clear(a.account.key);
}

Result<long long, db::DbError> LoginThrottle::token_wait(std::string_view address) {
    if (config_.sessions.throttle_token_failures <= 0) return 0LL;
    return store_.wait_ms(key_of("token", address));
}

Result<Unit, db::DbError> LoginThrottle::token_failed(std::string_view address) {
    const long limit = config_.sessions.throttle_token_failures;
    if (limit <= 0) return Unit{};
    return store_.record_failure({{key_of("token", address), limit}},
                                 config_.sessions.throttle_window, first_wait());
}

}  // namespace fu
