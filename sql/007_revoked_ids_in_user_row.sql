-- fcgi-users schema, version 7: a user's revoked token ids live in the user
-- row, so the authenticated hot path learns whether a token was logged out
-- from the one statement that reads the row (API.md: no second round trip).
-- revoked_ids: "<id>:<expires, Unix seconds>" entries separated by spaces
-- (the ids of tokens logged out, or of sessions whose refresh token was
-- reused, that have not expired); revoked_ids_until: the latest of those
-- expiries, so the purge finds rows whose ids have all expired by index.
-- At most 64 ids fit; a revocation that would not fit ends all the user's
-- sessions instead (README, "Sessions that end").
ALTER TABLE user
    ADD COLUMN revoked_ids       VARCHAR(4096) CHARACTER SET ascii COLLATE ascii_bin NULL,
    ADD COLUMN revoked_ids_until BIGINT NULL,
    ADD KEY ix_user_revoked_ids_until (revoked_ids_until);

-- Ids revoked by an earlier version (table revoked_token) name no user: the
-- users that version marked as having one that has not expired have their
-- sessions ended once, which refuses those tokens and nothing the users
-- could not log in again for.
UPDATE user SET session_generation = session_generation + 1, session_kept = NULL,
    sessions_ended_ms = CAST(UNIX_TIMESTAMP(UTC_TIMESTAMP(3)) * 1000 AS SIGNED)
    WHERE tokens_revoked_until >= UNIX_TIMESTAMP();

ALTER TABLE user DROP COLUMN tokens_revoked_until;
DROP TABLE revoked_token;
