// SQL of table oauth_account, one statement per change.
#include "store/oauth_account_store.h"

#include "wrap/mariadb.h"

namespace fu {
namespace {

db::Param opt_string(const std::optional<std::string>& s) {
    return s ? db::Param(std::string_view(*s)) : db::Param(nullptr);
}
db::Param opt_number(const std::optional<long long>& n) {
    return n ? db::Param(*n) : db::Param(nullptr);
}

OAuthAccount from_row(const db::Row& r) {
    OAuthAccount a;
    a.id = r[0].value_or("");
    a.oauth_name = r[1].value_or("");
    a.account_id = r[2].value_or("");
    a.account_email = r[3].value_or("");
    a.user_id = r[4].value_or("");
    return a;
}

}  // namespace

Result<std::optional<OAuthAccount>, db::DbError> OAuthAccountStore::find(
    std::string_view oauth_name, std::string_view account_id) {
    auto r = conn_.exec(
        "SELECT id, oauth_name, account_id, account_email, user_id FROM oauth_account "
        "WHERE oauth_name = ? AND account_id = ?",
        {oauth_name, account_id});
    if (!r) return r.error();
    if (r->rows.empty()) return std::optional<OAuthAccount>();
    return std::optional<OAuthAccount>(from_row(r->rows.front()));
}

Result<std::vector<OAuthAccount>, db::DbError> OAuthAccountStore::list_for_user(
    std::string_view user_id) {
    auto r = conn_.exec(
        "SELECT id, oauth_name, account_id, account_email, user_id FROM oauth_account "
        "WHERE user_id = ? ORDER BY oauth_name, account_id",
        {user_id});
    if (!r) return r.error();
    std::vector<OAuthAccount> out;
    for (const auto& row : r->rows) out.push_back(from_row(row));
    return out;
}

Result<Unit, db::DbError> OAuthAccountStore::update_tokens(const OAuthAccount& a) {
    auto r = conn_.exec(
        "UPDATE oauth_account SET access_token = ?, expires_at = ?, refresh_token = ?, "
        "account_email = ? WHERE id = ?",
        {a.access_token, opt_number(a.expires_at), opt_string(a.refresh_token), a.account_email,
         a.id});
    if (!r) return r.error();
    return Unit{};
}

Result<Unit, db::DbError> OAuthAccountStore::link(const OAuthAccount& a) {
    auto r = conn_.exec(
        "INSERT INTO oauth_account (id, oauth_name, access_token, expires_at, refresh_token, "
        "account_id, account_email, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {a.id, a.oauth_name, a.access_token, opt_number(a.expires_at), opt_string(a.refresh_token),
         a.account_id, a.account_email, a.user_id});
    if (!r) return r.error();
    return Unit{};
}

}  // namespace fu
