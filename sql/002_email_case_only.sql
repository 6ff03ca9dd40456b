-- fcgi-users schema, version 2: e-mail addresses compare case-insensitively
-- and in nothing else. Version 1 made them unique under utf8mb4_unicode_ci,
-- which also ignores accents (bob@ = böb@) and some other marks. email_key is
-- the address in lower case (Unicode rules), kept by the server itself, with a
-- binary unique index: BOB@ = bob@, böb@ <> bob@. The store looks addresses up
-- by email_key only. Existing rows get their key as the column is added; no
-- two can collide, since version 1's index was already stricter.

ALTER TABLE user
    ADD COLUMN email_key VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
        AS (LOWER(email)) STORED AFTER email,
    ADD UNIQUE KEY ix_user_email_key (email_key),
    DROP INDEX ix_user_email;
