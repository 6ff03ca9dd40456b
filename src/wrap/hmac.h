// HmacKey: HMAC-SHA-256 or HMAC-SHA-512 (RFC 2104) under one key, whose
// inner and outer hash states (the key's two padded blocks) are computed
// once, through OpenSSL's digests, which use the CPU's SHA extensions where
// it has them. Checking an access JWT's MAC was a quarter of fcgi-users'
// instructions per request with libsodium 1.0.18 (no SHA extensions, the
// key's blocks hashed on every call): bench/README, fifteenth round.
#pragma once

#include <string>
#include <string_view>

#include "util/secret.h"
#include "wrap/openssl.h"

namespace fu {

class HmacKey {
  public:
    enum class Hash { sha256, sha512 };

    // Throws std::runtime_error when OpenSSL cannot set up the digest.
    HmacKey(Hash hash, std::string_view key);

    // The MAC of `data` (32 or 64 bytes); empty if OpenSSL failed, which no
    // signature equals. Thread-safe: the states are read, never written.
    std::string mac(std::string_view data) const;

    bool has_key(const SecretString& key) const { return key.equals(key_.view()); }

  private:
    SecretString key_;
    ossl::MdCtx inner_;  // after hash(key ^ ipad)
    ossl::MdCtx outer_;  // after hash(key ^ opad)
};

}  // namespace fu
