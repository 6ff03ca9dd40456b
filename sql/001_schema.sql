-- fcgi-users schema, version 1: the tables and column names of FastAPI Users'
-- SQLAlchemy adapter (user, accesstoken, oauth_account), plus hook_event, the
-- durable queue of hook deliveries. utf8mb4 throughout; e-mail addresses
-- compare case-insensitively through the column's collation.

CREATE TABLE IF NOT EXISTS user (
    id              CHAR(36)      NOT NULL,
    email           VARCHAR(320)  NOT NULL COLLATE utf8mb4_unicode_ci,
    hashed_password VARCHAR(1024) NOT NULL,
    is_active       BOOLEAN       NOT NULL DEFAULT TRUE,
    is_superuser    BOOLEAN       NOT NULL DEFAULT FALSE,
    is_verified     BOOLEAN       NOT NULL DEFAULT FALSE,
    PRIMARY KEY (id),
    UNIQUE KEY ix_user_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS accesstoken (
    token      VARCHAR(43) NOT NULL COLLATE utf8mb4_bin,  -- SHA-256 of the token, base64url
    created_at DATETIME(6) NOT NULL,                      -- UTC
    user_id    CHAR(36)    NOT NULL,
    PRIMARY KEY (token),
    KEY ix_accesstoken_created_at (created_at),
    CONSTRAINT fk_accesstoken_user FOREIGN KEY (user_id) REFERENCES user (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS oauth_account (
    id            CHAR(36)      NOT NULL,
    oauth_name    VARCHAR(100)  NOT NULL,
    access_token  VARCHAR(1024) NOT NULL,
    expires_at    INT           NULL,
    refresh_token VARCHAR(1024) NULL,
    account_id    VARCHAR(320)  NOT NULL,
    account_email VARCHAR(320)  NOT NULL,
    user_id       CHAR(36)      NOT NULL,
    PRIMARY KEY (id),
    KEY ix_oauth_account_oauth_name (oauth_name),
    KEY ix_oauth_account_account_id (account_id),
    CONSTRAINT fk_oauth_account_user FOREIGN KEY (user_id) REFERENCES user (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per hook delivery. No foreign key: after_delete outlives its user.
-- Pending: done_at and failed_at NULL. The token (reset/verify) is blanked
-- once the row is delivered or has failed for good.
CREATE TABLE IF NOT EXISTS hook_event (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    event            VARCHAR(32)     NOT NULL,
    user_id          CHAR(36)        NOT NULL,
    user_email       VARCHAR(320)    NOT NULL,
    token            TEXT            NULL,
    payload          TEXT            NOT NULL,
    attempts         INT             NOT NULL DEFAULT 0,
    next_attempt_at  DATETIME(6)     NOT NULL,
    last_exit_status INT             NULL,
    last_error       TEXT            NULL,
    created_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    done_at          DATETIME(6)     NULL,
    failed_at        DATETIME(6)     NULL,
    PRIMARY KEY (id),
    KEY ix_hook_event_due (done_at, failed_at, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
