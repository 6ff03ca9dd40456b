-- fcgi-users schema, version 2: sessions that end (README, "Sessions that end").
-- user gains a session generation: ending a user's sessions adds one to it, and
-- every access JWT carries the generation it was issued in (claim sgen), so
-- the order of an ending and an issue is exact whatever the clocks say.
-- session_kept names the one session (claim sid) that survives the last
-- ending (the one that changed its own password); sessions_ended_ms is when
-- it happened, for tokens minted by FastAPI Users, which carry no sgen.
ALTER TABLE user
    ADD COLUMN session_generation BIGINT      NOT NULL DEFAULT 0,
    ADD COLUMN session_kept       VARCHAR(43) NULL COLLATE utf8mb4_bin,
    ADD COLUMN sessions_ended_ms  BIGINT      NULL;

-- Token ids (jti, or a session id sid) refused until expires_at, after which
-- the token they name has expired anyway and the row is purged.
CREATE TABLE IF NOT EXISTS revoked_token (
    id         VARCHAR(43) NOT NULL COLLATE utf8mb4_bin,
    expires_at DATETIME(3) NOT NULL,  -- UTC
    PRIMARY KEY (id),
    KEY ix_revoked_token_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Refresh tokens: the SHA-256 of each (base64url), its family (the session
-- id of the login it descends from), the user's session generation when it
-- was issued, and whether it was spent (rotated) or revoked with its family.
CREATE TABLE IF NOT EXISTS refresh_token (
    token      VARCHAR(43) NOT NULL COLLATE utf8mb4_bin,
    family     VARCHAR(43) NOT NULL COLLATE utf8mb4_bin,
    user_id    CHAR(36)    NOT NULL,
    generation BIGINT      NOT NULL,
    created_at DATETIME(3) NOT NULL,
    expires_at DATETIME(3) NOT NULL,
    spent_at   DATETIME(3) NULL,
    revoked_at DATETIME(3) NULL,
    PRIMARY KEY (token),
    KEY ix_refresh_token_family (family),
    KEY ix_refresh_token_expires_at (expires_at),
    CONSTRAINT fk_refresh_token_user FOREIGN KEY (user_id) REFERENCES user (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Failed-attempt counters, shared by every fcgi-users on the database. k is
-- the SHA-256 (base64url) of "account:<lower-case e-mail>", "address:<ip>" or
-- "token:<ip>", so no address is stored in clear. A row's window starts at
-- its first failure; blocked_until is set once failures reach threshold.
CREATE TABLE IF NOT EXISTS login_throttle (
    k             VARCHAR(43) NOT NULL COLLATE utf8mb4_bin,
    threshold     INT         NOT NULL,
    failures      INT         NOT NULL,
    window_start  DATETIME(3) NOT NULL,
    blocked_until DATETIME(3) NULL,
    PRIMARY KEY (k),
    KEY ix_login_throttle_window_start (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
