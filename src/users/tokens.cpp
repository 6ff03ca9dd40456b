#include "users/tokens.h"

#include <algorithm>
#include <ctime>

#include "wrap/jwt.h"

namespace fu {
namespace {

constexpr size_t kMaxTokenBytes = 8192;

bool audience_matches(const cJSON* aud, std::string_view audience) {
    if (cJSON_IsString(aud)) return audience == aud->valuestring;
    if (!cJSON_IsArray(aud)) return false;
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, aud) {
        if (cJSON_IsString(item) && audience == item->valuestring) return true;
    }
    return false;
}

}  // namespace

JwtCodec::JwtCodec(const std::string& algorithm) : alg_(jwt_str_alg(algorithm.c_str())) {}

std::string JwtCodec::encode(const SecretString& key, const cJSON* claims, long lifetime_seconds) const {
    json::Doc body(cJSON_Duplicate(claims, true));
    cJSON_AddNumberToObject(body.get(), "exp", static_cast<double>(std::time(nullptr) + lifetime_seconds));
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) return {};
    jwt::Token t(raw);
    if (jwt_add_grants_json(t.get(), json::print(body.get()).c_str()) != 0) return {};
    if (jwt_set_alg(t.get(), static_cast<jwt_alg_t>(alg_), key.bytes(), static_cast<int>(key.size())) != 0)
        return {};
    jwt::Str s(jwt_encode_str(t.get()));
    return s ? std::string(s.get()) : std::string();
}

Result<json::Doc, TokenError> JwtCodec::decode(std::string_view token, const SecretString& key,
                                               std::string_view audience) const {
    auto bad = make_error(TokenError::invalid);
    if (key.empty() || token.empty() || token.size() > kMaxTokenBytes) return bad;
    if (std::count(token.begin(), token.end(), '.') != 2) return bad;
    for (char c : token)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return bad;
    std::string text(token);
    jwt_t* raw = nullptr;
    if (jwt_decode(&raw, text.c_str(), key.bytes(), static_cast<int>(key.size())) != 0 || !raw) return bad;
    jwt::Token t(raw);
    // libjwt verifies with whatever alg the token names; only ours is accepted.
    if (jwt_get_alg(t.get()) != static_cast<jwt_alg_t>(alg_)) return bad;
    jwt::Str grants(jwt_get_grants_json(t.get(), nullptr));
    if (!grants) return bad;
    json::Doc claims = json::parse(grants.get());
    if (!claims || !cJSON_IsObject(claims.get())) return bad;
    // libjwt 1.10 ignores exp and aud: they are checked here.
    const cJSON* exp = cJSON_GetObjectItemCaseSensitive(claims.get(), "exp");
    if (!cJSON_IsNumber(exp) || exp->valuedouble <= static_cast<double>(std::time(nullptr))) return bad;
    if (!audience_matches(cJSON_GetObjectItemCaseSensitive(claims.get(), "aud"), audience)) return bad;
    return claims;
}

std::string claim_string(const cJSON* claims, const char* name) {
    const cJSON* c = cJSON_GetObjectItemCaseSensitive(claims, name);
    return cJSON_IsString(c) ? std::string(c->valuestring) : std::string();
}

}  // namespace fu
