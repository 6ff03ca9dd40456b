// What several route groups answer the same way: the user object, and the
// responses for an authentication failure or a database outage.
#pragma once

#include "auth/authenticator.h"
#include "http/response.h"
#include "model/user.h"

namespace fu {

// {"id", "email", "is_active", "is_superuser", "is_verified"}
http::Response user_response(int status, const User& user);
http::Response auth_failure(AuthError e);
// unavailable: 503; anything unexpected: 500 (never internals).
http::Response server_failure(UserError e);

}  // namespace fu
