#include "wrap/hmac.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace fu {
namespace {

// One padded key block hashed: the state every MAC under this key starts from.
ossl::MdCtx padded_state(const EVP_MD* md, const std::array<unsigned char, 128>& key, size_t block,
                         unsigned char pad) {
    std::array<unsigned char, 128> padded{};
    for (size_t i = 0; i < block; ++i) padded[i] = key[i] ^ pad;
    ossl::MdCtx ctx(EVP_MD_CTX_new());
    bool ok = ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
              EVP_DigestUpdate(ctx.get(), padded.data(), block) == 1;
    OPENSSL_cleanse(padded.data(), padded.size());
    if (!ok) throw std::runtime_error("HMAC: OpenSSL could not set up the digest");
    return ctx;
}

}  // namespace

HmacKey::HmacKey(Hash hash, std::string_view key) : key_(std::string(key)) {
    const EVP_MD* md = hash == Hash::sha512 ? EVP_sha512() : EVP_sha256();
    auto block = static_cast<size_t>(EVP_MD_get_block_size(md));
    if (block == 0 || block > 128) throw std::runtime_error("HMAC: unexpected digest block size");
    // A key longer than a block is hashed first (RFC 2104, section 2).
    std::array<unsigned char, 128> k{};
    if (key.size() > block) {
        unsigned int len = 0;
        if (EVP_Digest(key.data(), key.size(), k.data(), &len, md, nullptr) != 1)
            throw std::runtime_error("HMAC: OpenSSL could not hash the key");
    } else {
        std::copy(key.begin(), key.end(), k.begin());
    }
    try {
        inner_ = padded_state(md, k, block, 0x36);
        outer_ = padded_state(md, k, block, 0x5c);
    } catch (...) {
        OPENSSL_cleanse(k.data(), k.size());
        throw;
    }
    OPENSSL_cleanse(k.data(), k.size());
}

std::string HmacKey::mac(std::string_view data) const {
    // A copy of a state per call, in the thread's own context: the copy
    // replaces what the context held, so one context serves every key.
    // EVP_MD_CTX_copy_ex only reads its source (OpenSSL 3.0: the context's
    // fields and a new copy of the provider's state; the digest's reference
    // count moves atomically, and only when the thread switches digests), so
    // threads share the two states without a lock. OpenSSL documents no such
    // guarantee; HmacKey.ManyThreadsShareKeys runs it under ThreadSanitizer.
    thread_local ossl::MdCtx work(EVP_MD_CTX_new());
    std::array<unsigned char, EVP_MAX_MD_SIZE> inner{};
    std::string out(EVP_MAX_MD_SIZE, '\0');
    unsigned int inner_len = 0;
    unsigned int out_len = 0;
    bool ok =
        work && EVP_MD_CTX_copy_ex(work.get(), inner_.get()) == 1 &&
        EVP_DigestUpdate(work.get(), data.data(), data.size()) == 1 &&
        EVP_DigestFinal_ex(work.get(), inner.data(), &inner_len) == 1 &&
        EVP_MD_CTX_copy_ex(work.get(), outer_.get()) == 1 &&
        EVP_DigestUpdate(work.get(), inner.data(), inner_len) == 1 &&
        EVP_DigestFinal_ex(work.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len) == 1;
    if (!ok) return {};
    out.resize(out_len);
    return out;
}

}  // namespace fu
