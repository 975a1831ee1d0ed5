-- accessboard schema, version 1.
-- Times are unix seconds (UTC). apalis owns the tables Jobs and Workers in
-- the same file; none of ours may share those names (SQLite ignores case).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,            -- uuid; the SCIM externalId
    email         TEXT NOT NULL,               -- as entered
    email_norm    TEXT NOT NULL,               -- lower-cased, for uniqueness
    name          TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,  -- may sign in to the dashboard
    password_hash TEXT,                        -- argon2, only for those who sign in
    deleted_at    INTEGER,                     -- set while apps are being told
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email_norm ON users (email_norm);
CREATE INDEX users_name ON users (name COLLATE NOCASE);

CREATE TABLE apps (
    slug         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    url          TEXT,
    installed    INTEGER NOT NULL DEFAULT 0,
    installed_at INTEGER,
    scim_enabled INTEGER NOT NULL DEFAULT 0,    -- mirrors settings.toml at every start
    in_catalogue INTEGER NOT NULL DEFAULT 1     -- 0 once removed from settings.toml
);

-- One row per user per app (the seed's AppRole) with the pair's provisioning record.
CREATE TABLE app_access (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_slug        TEXT NOT NULL REFERENCES apps (slug) ON DELETE CASCADE,
    role            TEXT NOT NULL DEFAULT 'none' CHECK (role IN ('admin', 'user', 'none')),
    scim_id         TEXT,
    status          TEXT NOT NULL DEFAULT 'not_provisioned' CHECK (status IN
                      ('sync_needed', 'syncing', 'provisioned', 'deprovisioned', 'error', 'failed', 'not_provisioned')),
    last_attempt_at INTEGER,
    last_message    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    -- bumped by every change of the desired state; synced_gen is what the last sync saw
    desired_gen     INTEGER NOT NULL DEFAULT 0,
    synced_gen      INTEGER NOT NULL DEFAULT 0,
    -- bumped every time the pair becomes due; part of the job's idempotency key
    due_seq         INTEGER NOT NULL DEFAULT 0,
    -- the process holding the pair while status = 'syncing'
    claimed_by      TEXT,
    status_since    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, app_slug)
) WITHOUT ROWID;
CREATE INDEX app_access_app_status ON app_access (app_slug, status);
CREATE INDEX app_access_due ON app_access (status, next_attempt_at);

-- One row per SCIM call; the activity page reads it.
CREATE TABLE provision_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    user_id     TEXT,
    user_email  TEXT,                          -- kept after the user is purged
    app_slug    TEXT NOT NULL,
    operation   TEXT NOT NULL,
    http_status INTEGER,
    duration_ms INTEGER,
    outcome     TEXT NOT NULL,
    message     TEXT
);
CREATE INDEX provision_log_app ON provision_log (app_slug, id);
CREATE INDEX provision_log_user ON provision_log (user_id, id);
CREATE INDEX provision_log_outcome ON provision_log (outcome, id);

-- Running processes; a 'syncing' pair whose holder stopped beating is taken back.
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

-- Small key/value facts: the session key, the setup token hash, drift reports.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
