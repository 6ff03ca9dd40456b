// User: one row of table `user`, the model FastAPI Users calls UP.
#pragma once

#include <string>

namespace fu {

struct User {
    std::string id;  // UUID v4, lower case
    std::string email;
    std::string hashed_password;
    bool is_active = true;
    bool is_superuser = false;
    bool is_verified = false;
};

}  // namespace fu
