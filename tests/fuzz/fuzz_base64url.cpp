// Differential: fcgi-users' base64url decoder takes exactly what libsodium's
// takes (URL-safe, no padding, nothing ignored, the whole input) and gives the
// same bytes, except bytes above 127, which libsodium 1.0.18 reads as '_' and
// ours refuses; any other difference aborts.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wrap/sodium.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string expected(size * 3 / 4 + 3, '\0');
    size_t len = 0;
    const char* end = nullptr;
    bool taken = sodium_base642bin(reinterpret_cast<unsigned char*>(expected.data()),
                                   expected.size(), in.data(), in.size(), nullptr, &len, &end,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
                 end == in.data() + in.size();
    for (size_t i = 0; i < size; ++i) taken = taken && data[i] < 128;
    expected.resize(len);
    auto got = fu::sodium::base64url_decode(in);
    if (got.has_value() != taken || (taken && *got != expected)) std::abort();
    return 0;
}
