-- fcgi-users schema, version 8: a claim tells whether an earlier event of the
-- same user is still pending by index alone. With ix_hook_event_user
-- (user_id, id) that check walked the user's delivered events before the
-- first pending one, for every pending row the claim looked at: one user's
-- backlog (anyone can make one: a flood of forgot-password requests for one
-- address) cost each claim its pending times delivered rows (800 000 index
-- reads, a second of MariaDB's CPU, once a second), and every user's hooks
-- waited on it. Pending rows (done_at and failed_at NULL) now come first
-- among each user's, in id order.
ALTER TABLE hook_event
    DROP KEY ix_hook_event_user,
    ADD KEY ix_hook_event_user_pending (user_id, done_at, failed_at, id);
