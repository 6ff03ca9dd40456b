// User: one row of table `user`, the model FastAPI Users calls UP.
#pragma once

#include <optional>
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

// A change to announce to the hook dispatcher, written in the same
// transaction as the change itself (table hook_event).
struct HookEvent {
    std::string event;  // after_register, ...
    std::string user_id;
    std::string user_email;
    std::optional<std::string> token;
};

}  // namespace fu
