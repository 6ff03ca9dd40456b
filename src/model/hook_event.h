// HookEvent: a change to announce to the hook dispatcher, written in the same
// transaction as the change itself (table hook_event).
#pragma once

#include <optional>
#include <string>

namespace fu {

struct HookEvent {
    std::string event;  // after_register, ...
    std::string user_id;
    std::string user_email;
    std::optional<std::string> token;
};

}  // namespace fu
