// secretbox seal/open of provider tokens; the version prefix leaves room for
// a key rotation later.
#include "oauth/token_cipher.h"

#include <sodium.h>

#include "wrap/sodium.h"

namespace fu::oauth {

TokenCipher::TokenCipher(const SecretString& key) {
    std::string k(crypto_secretbox_KEYBYTES, '\0');
    crypto_hash_sha256(reinterpret_cast<unsigned char*>(k.data()), key.bytes(), key.size());
    key_ = SecretString(std::move(k));
}

std::string TokenCipher::seal(std::string_view plain) const {
    std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
    auto* out = reinterpret_cast<unsigned char*>(box.data());
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES,
                          reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), out,
                          key_.bytes());
    return "v1." + sodium::base64url(out, box.size());
}

std::optional<std::string> TokenCipher::open(std::string_view sealed) const {
    if (sealed.substr(0, 3) != "v1.") return std::nullopt;
    auto box = sodium::base64url_decode(sealed.substr(3));
    if (!box || box->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return std::nullopt;
    const auto* in = reinterpret_cast<const unsigned char*>(box->data());
    std::string plain(box->size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
    if (crypto_secretbox_open_easy(
            reinterpret_cast<unsigned char*>(plain.data()), in + crypto_secretbox_NONCEBYTES,
            box->size() - crypto_secretbox_NONCEBYTES, in, key_.bytes()) != 0)
        return std::nullopt;
    return plain;
}

}  // namespace fu::oauth
