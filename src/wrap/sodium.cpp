// libsodium helpers: random tokens, base64url, SHA-256, HMAC, UUIDs.
#include "wrap/sodium.h"

#include <sodium.h>

#include <array>
#include <vector>

namespace fu::sodium {

std::string base64url(const unsigned char* data, size_t len) {
    std::string out(sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

std::string random_token(size_t n_bytes) {
    // Sized from the request: a fixed buffer silently shortened long tokens.
    std::vector<unsigned char> buf(n_bytes);
    randombytes_buf(buf.data(), n_bytes);
    std::string s = base64url(buf.data(), n_bytes);
    sodium_memzero(buf.data(), buf.size());
    return s;
}

std::string sha256_base64url(std::string_view data) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return base64url(h, sizeof h);
}

namespace {

// Each byte's six bits in base64url, 0xff for a byte that is not one of its
// characters. A table, where libsodium's decoder computes each byte with
// masks so that no branch or memory access depends on it, which matters for
// secret keys; no input here is one: JWTs and id tokens are bearer texts that
// nginx and cJSON parse byte by byte anyway, sealed boxes decode to a nonce
// and a ciphertext, JWK values are public keys. sodium_base642bin took 5 % of
// a worker's time on a JWT's three parts, and reads any byte above 127 as '_'.
constexpr std::array<unsigned char, 256> kSextets = [] {
    std::array<unsigned char, 256> t{};
    t.fill(0xff);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (unsigned char i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
    return t;
}();

}  // namespace

std::optional<std::string> base64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    std::string out(in.size() * 3 / 4, '\0');  // 4n, 4n + 2, 4n + 3: 3n, 3n + 1, 3n + 2
    char* o = out.data();
    unsigned bad = 0;
    size_t whole = in.size() / 4 * 4;
    for (size_t i = 0; i < whole; i += 4, o += 3) {
        unsigned a = kSextets[p[i]], b = kSextets[p[i + 1]], c = kSextets[p[i + 2]],
                 d = kSextets[p[i + 3]];
        bad |= a | b | c | d;
        unsigned v = (a << 18) | (b << 12) | (c << 6) | d;
        o[0] = static_cast<char>(v >> 16);
        o[1] = static_cast<char>(v >> 8);
        o[2] = static_cast<char>(v);
    }
    switch (in.size() % 4) {
        case 2: {
            unsigned a = kSextets[p[whole]], b = kSextets[p[whole + 1]];
            bad |= a | b | ((b & 0xfu) << 8);  // four bits past the byte
            o[0] = static_cast<char>((a << 2) | (b >> 4));
            break;
        }
        case 3: {
            unsigned a = kSextets[p[whole]], b = kSextets[p[whole + 1]], c = kSextets[p[whole + 2]];
            bad |= a | b | c | ((c & 0x3u) << 8);  // two bits past the bytes
            unsigned v = (a << 12) | (b << 6) | c;
            o[0] = static_cast<char>(v >> 10);
            o[1] = static_cast<char>(v >> 2);
            break;
        }
        default:
            break;
    }
    if ((bad & ~0x3fu) != 0) return std::nullopt;
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()),
                                key.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                  data.size());
    std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
    crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(mac.data()));
    return mac;
}

std::string hmac_sha256_base64url(std::string_view key, std::string_view data) {
    std::string mac = hmac_sha256(key, data);
    return base64url(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string uuid4() {
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    static const char* hex = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += hex[b[i] >> 4];
        s += hex[b[i] & 0xf];
    }
    return s;
}

bool is_uuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < 36; ++i) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

}  // namespace fu::sodium
