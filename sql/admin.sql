-- Everyday administration with plain SQL. Open a client with `scripts/sql`
-- (or your own mariadb client on the fcgi-users database) and paste what you
-- need, replacing the addresses. Flags take effect on the very next request:
-- fcgi-users keeps no cache of users.
-- Create a user (a password needs hashing): fcgi-users user create --email E [--superuser] [--verified]

-- List users, newest addresses last.
SELECT id, email, is_active, is_superuser, is_verified FROM user ORDER BY email;

-- Find one user (e-mail compares case-insensitively).
SELECT id, email, is_active, is_superuser, is_verified FROM user WHERE email_key = LOWER('someone@example.com');

-- Make a user superuser (and take it back with FALSE).
UPDATE user SET is_superuser = TRUE WHERE email_key = LOWER('someone@example.com');

-- Deactivate a user: refused at login and on every authenticated route at once, and every
-- session ended as PATCH /users/{id} with is_active false ends them, so that activating the
-- user again (is_active = TRUE) revives none of the tokens issued before.
UPDATE user SET is_active = FALSE, session_generation = session_generation + 1, session_kept = NULL,
       sessions_ended_ms = TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6)) DIV 1000
 WHERE email_key = LOWER('someone@example.com');
DELETE FROM accesstoken WHERE user_id = (SELECT id FROM user WHERE email_key = LOWER('someone@example.com'));

-- Mark a user's address as verified.
UPDATE user SET is_verified = TRUE WHERE email_key = LOWER('someone@example.com');

-- Delete a user; their database tokens and OAuth accounts go with them (ON DELETE CASCADE).
DELETE FROM user WHERE email_key = LOWER('someone@example.com');

-- Log a user out everywhere, as POST /auth/logout-all does: every JWT, refresh token and
-- database token issued so far is refused from the next request on.
UPDATE user SET session_generation = session_generation + 1, session_kept = NULL,
       sessions_ended_ms = TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6)) DIV 1000
 WHERE email_key = LOWER('someone@example.com');
DELETE FROM accesstoken WHERE user_id = (SELECT id FROM user WHERE email_key = LOWER('someone@example.com'));

-- Lift the login throttle of one account at once (keys are SHA-256 of "account:" and the
-- address as the user lookup reads it: the user's email_key without trailing spaces, which for
-- an ASCII address is its lower case; for any other, write (SELECT RTRIM(email_key) FROM user
-- WHERE email = '...') in place of the address).
DELETE FROM login_throttle
 WHERE k = TRIM(TRAILING '=' FROM REPLACE(REPLACE(TO_BASE64(UNHEX(SHA2('account:someone@example.com', 256))),
                                                  '+', '-'), '/', '_'));

-- Remove expired database tokens (default lifetime 3600 s).
DELETE FROM accesstoken WHERE created_at < UTC_TIMESTAMP() - INTERVAL 3600 SECOND;

-- Hooks waiting for delivery (new, or failed and waiting for their next attempt),
-- or running now: claimed_by (host:pid) holds the claim until next_attempt_at.
SELECT id, event, user_id, attempts, timeouts, next_attempt_at, last_exit_status,
       IF(claim_token IS NULL, NULL, claimed_by) AS running_on
  FROM hook_event WHERE done_at IS NULL AND failed_at IS NULL ORDER BY next_attempt_at;

-- Hooks that failed for good, with their last exit status and the end of their stderr.
SELECT id, event, user_id, attempts, last_exit_status, last_error, failed_at
  FROM hook_event WHERE failed_at IS NOT NULL ORDER BY failed_at DESC;

-- Retry a failed hook once more (its token, if it had one, is gone: the command gets none).
UPDATE hook_event SET failed_at = NULL, attempts = 0, timeouts = 0, next_attempt_at = UTC_TIMESTAMP() WHERE id = 42;

-- Forget delivered hooks older than 30 days.
DELETE FROM hook_event WHERE done_at < UTC_TIMESTAMP() - INTERVAL 30 DAY;

-- Which migrations are applied.
SELECT name, applied_at FROM schema_migrations ORDER BY name;
