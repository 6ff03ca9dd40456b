// Fuzzes the JWT check with every token kind's audience (access, reset,
// verify), for both algorithms, with the key prepared at construction (as
// fcgi-users runs) and not: whatever the input, decode answers a result, the
// same one either way.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "users/tokens.h"

namespace {

const fu::SecretString& key() {
    static const fu::SecretString k(std::string(48, 'k'));
    return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const fu::JwtCodec hs256("HS256", {key()});
    static const fu::JwtCodec hs512("HS512", {key()});
    static const fu::JwtCodec hs256_unprepared("HS256");
    std::string_view token(reinterpret_cast<const char*>(data), size);
    for (const char* audience :
         {"fastapi-users:auth", "fastapi-users:reset", "fastapi-users:verify"}) {
        auto a = hs256.decode(token, key(), audience);
        if (a) fu::claim_string(a.value().get(), "sub");
        if (static_cast<bool>(hs256_unprepared.decode(token, key(), audience)) !=
            static_cast<bool>(a))
            std::abort();
        auto b = hs512.decode(token, key(), audience);
        if (b) fu::claim_string(b.value().get(), "sub");
    }
    return 0;
}
