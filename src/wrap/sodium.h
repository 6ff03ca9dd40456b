// Small helpers over libsodium: random tokens, base64url, SHA-256, HMAC.
// sodium_init() must have succeeded (main does it before any thread).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fu::sodium {

// n random bytes, base64url without padding (32 bytes: 43 characters).
std::string random_token(size_t n_bytes);
std::string base64url(const unsigned char* data, size_t len);
// nullopt unless `in` is canonical base64url without padding: only its 64
// characters, never a length of 4n + 1, the bits past the last whole byte
// zero (one text per value). What sodium_base642bin takes, bytes above 127
// excepted. Not constant-time: never for secret keys.
std::optional<std::string> base64url_decode(std::string_view in);
std::string sha256_base64url(std::string_view data);
// Raw MACs (32 and 64 bytes), keys of any length.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha256_base64url(std::string_view key, std::string_view data);
// A random version 4 UUID in lower-case text.
std::string uuid4();
bool is_uuid(std::string_view s);

}  // namespace fu::sodium
