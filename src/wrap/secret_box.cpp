// crypto_secretbox_easy with a random 24-byte nonce per value (XSalsa20:
// random nonces never collide in practice), the nonce stored in front.
#include "wrap/secret_box.h"

#include <vector>

#include "wrap/sodium.h"

namespace fu::sodium {
namespace {

constexpr std::string_view kPrefix = "v1.";
constexpr std::string_view kContext = "fcgi-users secret box v1";

}  // namespace

SecretBox::SecretBox(std::string_view key_material) {
    crypto_generichash(key_.data(), key_.size(),
                       reinterpret_cast<const unsigned char*>(kContext.data()), kContext.size(),
                       reinterpret_cast<const unsigned char*>(key_material.data()),
                       key_material.size());
}

std::string SecretBox::seal(std::string_view plain) const {
    std::vector<unsigned char> box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                   plain.size());
    randombytes_buf(box.data(), crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box.data() + crypto_secretbox_NONCEBYTES,
                          reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                          box.data(), key_.data());
    return std::string(kPrefix) + base64url(box.data(), box.size());
}

std::optional<std::string> SecretBox::open(std::string_view sealed) const {
    if (!looks_sealed(sealed)) return std::nullopt;
    auto box = base64url_decode(sealed.substr(kPrefix.size()));
    if (!box || box->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return std::nullopt;
    const auto* bytes = reinterpret_cast<const unsigned char*>(box->data());
    std::string plain(box->size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
    if (crypto_secretbox_open_easy(
            reinterpret_cast<unsigned char*>(plain.data()), bytes + crypto_secretbox_NONCEBYTES,
            box->size() - crypto_secretbox_NONCEBYTES, bytes, key_.data()) != 0)
        return std::nullopt;
    return plain;
}

}  // namespace fu::sodium
