// SecretBox: authenticated encryption (libsodium's crypto_secretbox) of small
// values kept at rest, such as the tokens of pending hook events.
#pragma once

#include <sodium.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace fu::sodium {

class SecretBox {
  public:
    // The key is derived (BLAKE2b) from `key_material`, of any length; the
    // caller ensures it is secret and long enough (Config: 32 bytes or more).
    explicit SecretBox(std::string_view key_material);
    ~SecretBox() { sodium_memzero(key_.data(), key_.size()); }
    SecretBox(const SecretBox&) = default;
    SecretBox& operator=(const SecretBox&) = default;

    // "v1." then base64url of a random nonce and the sealed text.
    std::string seal(std::string_view plain) const;
    // The plain text; nullopt when `sealed` is not one of seal()'s outputs
    // under this key (another key, altered, or not sealed at all).
    std::optional<std::string> open(std::string_view sealed) const;
    static bool looks_sealed(std::string_view text) { return text.substr(0, 3) == "v1."; }

  private:
    std::array<unsigned char, crypto_secretbox_KEYBYTES> key_{};
};

}  // namespace fu::sodium
