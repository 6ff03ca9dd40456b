-- fcgi-users schema, version 5: the authenticated hot path reads revoked_token
-- only for users who have a revoked token id that can still matter.
-- tokens_revoked_until is the latest expires_at (Unix seconds) of the ids
-- revoked for the user's tokens (logout, refresh reuse); the statement that
-- reads the user row compares it with the server's clock, and only when it
-- has not passed is revoked_token looked up (a subquery in the hot statement
-- cost MariaDB ~30 us of CPU per request, the same for users who never logged
-- out). NULL: never revoked.
ALTER TABLE user ADD COLUMN tokens_revoked_until BIGINT NULL;

-- Ids revoked before this version name no user: every user gets the marker
-- until the last of them expires (fcgi-users' connections run in UTC).
UPDATE user SET tokens_revoked_until =
    (SELECT CEILING(UNIX_TIMESTAMP(MAX(expires_at))) FROM revoked_token)
    WHERE EXISTS (SELECT 1 FROM revoked_token);
