-- fcgi-users schema, version 5: hook deliveries claimed by one host at a time
-- (README, "Scaling out"). A claim is one transaction that sets claim_token
-- (random, new for each claim) and claimed_by (host name and pid, for people),
-- and pushes next_attempt_at past the command's time-out: the lease. Outcomes
-- are written by the holder of the token; a claim whose holder vanished is
-- taken over once its lease has passed. timeouts counts the attempts that ran
-- past hook.timeout, which lengthen the back-off. One user's events are
-- delivered in order: a claim skips a row while an earlier one of the same
-- user is pending (ix_hook_event_user finds those).
ALTER TABLE hook_event
    ADD COLUMN claim_token CHAR(32)     NULL COLLATE utf8mb4_bin,
    ADD COLUMN claimed_by  VARCHAR(128) NULL,
    ADD COLUMN timeouts    INT          NOT NULL DEFAULT 0,
    ADD KEY ix_hook_event_user (user_id, id);
