// What several route groups answer the same way: the user object, and the
// responses for an authentication failure or a database outage.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "auth/authenticator.h"
#include "http/response.h"
#include "metrics/metrics.h"
#include "model/user.h"

namespace fu {

struct Context;

// {"id", "email", "is_active", "is_superuser", "is_verified"}, and, when an
// OAuth provider is configured, "oauth_accounts" (never their tokens).
http::Response user_response(int status, const User& user, Context& ctx);
// A successful login's answer, password login and OAuth callback alike: an
// access token of a new session (and a refresh token where the backend has
// them on), the after_login event, then bearer 200 JSON or cookie 204.
// generation: the user's session generation, read in the same statement as
// the state that allowed the login (see NewSession).
http::Response login_response(const BackendConfig& backend, const User& user, long long generation,
                              Context& ctx);
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
http::Response store_failure(const Error<db::DbError>& e);
// 429 {"detail": code} with Retry-After: the wait in whole seconds.
http::Response too_many_attempts(const char* code, long long wait_ms);
// The 429 (or 503) when bad reset/verify tokens from `address` are refused now.
std::optional<http::Response> token_guess_refused(Context& ctx, const std::string& address,
                                                  const char* code);
// {"access_token", "token_type": "bearer"} and, when there is one, "refresh_token".
http::Response token_answer(const std::string& access_token,
                            const std::optional<std::string>& refresh_token);
// Counts a rare event in /metrics (no-op outside `serve`).
void count(Context& ctx, SessionEvent e);

}  // namespace fu
