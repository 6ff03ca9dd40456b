// RAII owners for libjwt: jwt::Token owns a jwt_t, jwt::Str a string libjwt allocated.
#pragma once

#include <jwt.h>

#include <cstdlib>
#include <memory>

namespace fu::jwt {

struct TokenDeleter {
    void operator()(jwt_t* p) const { jwt_free(p); }
};
using Token = std::unique_ptr<jwt_t, TokenDeleter>;

struct StrDeleter {
    void operator()(char* p) const { std::free(p); }
};
using Str = std::unique_ptr<char, StrDeleter>;

}  // namespace fu::jwt
