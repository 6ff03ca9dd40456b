// What several route groups answer the same way: the user object, and the
// responses for an authentication failure or a database outage.
#pragma once

#include <functional>

#include "auth/authenticator.h"
#include "http/response.h"
#include "model/user.h"

namespace fu {

struct Context;

// {"id", "email", "is_active", "is_superuser", "is_verified"}, and, when an
// OAuth provider is configured, "oauth_accounts" (never their tokens).
http::Response user_response(int status, const User& user, Context& ctx);
// A backend's answer to a successful login with `token`: bearer 200 JSON or
// cookie 204 (password login and OAuth callback alike).
http::Response login_response(const BackendConfig& backend, const Config& config, const std::string& token);
http::Response auth_failure(AuthError e);
// For any operation's error enum: its `unavailable` is a 503, anything else
// that reaches here a 500 (never internals).
template <typename E>
http::Response server_failure(E e) {
    return e == E::unavailable ? http::service_unavailable() : http::internal_error();
}

// 202 null at once, then `work` once the answer is sent: for routes whose
// answer must not tell, even by its time, what the work found.
http::Response accepted_then(std::function<void()> work);

}  // namespace fu
