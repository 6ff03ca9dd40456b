// TokenCipher: providers' access and refresh tokens encrypted at rest
// (libsodium secretbox, XSalsa20-Poly1305, a random nonce per value), so a
// leaked oauth_account table opens no provider account. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/secret.h"

namespace fu::oauth {

class TokenCipher {
  public:
    // The secretbox key is SHA-256 of oauth.token_key (any length >= 32 bytes).
    explicit TokenCipher(const SecretString& key);

    // "v1." + base64url(nonce || ciphertext).
    std::string seal(std::string_view plain) const;
    // nullopt when the text was not sealed with this key or was altered.
    std::optional<std::string> open(std::string_view sealed) const;

  private:
    SecretString key_;  // 32 bytes
};

}  // namespace fu::oauth
