// sd_notify(3) without libsystemd: tells the service manager named by
// $NOTIFY_SOCKET that fcgi-users is ready or stopping (Type=notify).
#pragma once

#include <string_view>

namespace fu::notify {

// Sends `state` (e.g. "READY=1") as one datagram to $NOTIFY_SOCKET, a path or
// an abstract name starting with '@'. Does nothing when the variable is unset
// or the send fails (readiness is a courtesy: serving goes on either way).
void send(std::string_view state);

}  // namespace fu::notify
