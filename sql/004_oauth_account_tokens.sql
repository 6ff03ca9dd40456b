-- fcgi-users schema, version 4: OAuth accounts. Providers' tokens are stored
-- encrypted (libsodium secretbox, base64url) and can be long (Microsoft's
-- pass 2 KiB before encryption), so FastAPI Users' VARCHAR(1024) columns
-- become TEXT. The provider's account id is compared exactly (an OIDC `sub`
-- is case-sensitive), and one provider account links to one user only.
ALTER TABLE oauth_account
    MODIFY access_token  TEXT         NOT NULL,
    MODIFY refresh_token TEXT         NULL,
    MODIFY account_id    VARCHAR(320) NOT NULL COLLATE utf8mb4_bin,
    ADD UNIQUE KEY ux_oauth_account_provider (oauth_name, account_id);
