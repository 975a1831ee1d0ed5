-- Accounts an admin chose to leave unmanaged during discovery (issue 26): remembered by
-- the app and the app's account id, never disabled, never drift, never matched to a
-- person unless the admin links them.
CREATE TABLE unmanaged_accounts (
    app_slug   TEXT NOT NULL REFERENCES apps (slug) ON DELETE CASCADE,
    scim_id    TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    noted_by   TEXT NOT NULL,
    noted_at   INTEGER NOT NULL,
    PRIMARY KEY (app_slug, scim_id)
) WITHOUT ROWID;
