// RAII owners for the few OpenSSL objects that check providers' id-token
// signatures (libjwt 1.10 reads no JWK; it links the same libcrypto).
#pragma once

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

namespace fu::ossl {

struct PkeyDeleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct PkeyCtxDeleter {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

struct BnDeleter {
    void operator()(BIGNUM* p) const { BN_free(p); }
};
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;

struct ParamBldDeleter {
    void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter>;

struct ParamsDeleter {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using Params = std::unique_ptr<OSSL_PARAM, ParamsDeleter>;

struct EcdsaSigDeleter {
    void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using EcdsaSig = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

}  // namespace fu::ossl
