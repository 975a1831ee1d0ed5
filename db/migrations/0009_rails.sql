-- Safety rails: the revocation guard's `held` pairs, paused apps and quarantined apps.

-- SQLite cannot change a CHECK constraint in place: app_access is copied into a table
-- that also allows 'held' and records when a revocation was marked (revoked_at: the
-- guard counts the revocations of its window by it).
DROP TRIGGER app_access_counted;
DROP TRIGGER app_access_uncounted;
DROP TRIGGER app_access_recounted;
CREATE TABLE app_access_new (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_slug        TEXT NOT NULL REFERENCES apps (slug) ON DELETE CASCADE,
    role            TEXT NOT NULL DEFAULT 'none' CHECK (role IN ('admin', 'user', 'none')),
    scim_id         TEXT,
    status          TEXT NOT NULL DEFAULT 'not_provisioned' CHECK (status IN
                      ('sync_needed', 'syncing', 'provisioned', 'deprovisioned', 'error', 'failed',
                       'not_provisioned', 'held')),
    last_attempt_at INTEGER,
    last_message    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    desired_gen     INTEGER NOT NULL DEFAULT 0,
    synced_gen      INTEGER NOT NULL DEFAULT 0,
    due_seq         INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    status_since    INTEGER NOT NULL DEFAULT 0,
    synced_role     TEXT,
    delete_at       INTEGER,
    -- when the pair was marked to disable or delete an account the app holds active;
    -- NULL once access came back, once the guard was lifted for it, or after a resume
    revoked_at      INTEGER,
    PRIMARY KEY (user_id, app_slug)
) WITHOUT ROWID;
INSERT INTO app_access_new (user_id, app_slug, role, scim_id, status, last_attempt_at, last_message,
    attempts, next_attempt_at, desired_gen, synced_gen, due_seq, claimed_by, status_since,
    synced_role, delete_at)
SELECT user_id, app_slug, role, scim_id, status, last_attempt_at, last_message,
    attempts, next_attempt_at, desired_gen, synced_gen, due_seq, claimed_by, status_since,
    synced_role, delete_at
FROM app_access;
DROP TABLE app_access;
ALTER TABLE app_access_new RENAME TO app_access;
CREATE INDEX app_access_app_status ON app_access (app_slug, status);
CREATE INDEX app_access_due ON app_access (status, next_attempt_at);
CREATE INDEX app_access_delete_at ON app_access (delete_at) WHERE delete_at IS NOT NULL;
CREATE INDEX app_access_revoked_at ON app_access (app_slug, revoked_at) WHERE revoked_at IS NOT NULL;

-- The same counting triggers as migration 6; the counts themselves were copied unchanged.
CREATE TRIGGER app_access_counted AFTER INSERT ON app_access BEGIN
    INSERT INTO app_status_counts (app_slug, status, n) VALUES (NEW.app_slug, NEW.status, 1)
    ON CONFLICT (app_slug, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER app_access_uncounted AFTER DELETE ON app_access BEGIN
    UPDATE app_status_counts SET n = n - 1 WHERE app_slug = OLD.app_slug AND status = OLD.status;
END;
CREATE TRIGGER app_access_recounted AFTER UPDATE OF status, app_slug ON app_access
WHEN OLD.status != NEW.status OR OLD.app_slug != NEW.app_slug BEGIN
    UPDATE app_status_counts SET n = n - 1 WHERE app_slug = OLD.app_slug AND status = OLD.status;
    INSERT INTO app_status_counts (app_slug, status, n) VALUES (NEW.app_slug, NEW.status, 1)
    ON CONFLICT (app_slug, status) DO UPDATE SET n = n + 1;
END;

-- One row per app that was ever paused, failing or quarantined: a plain state with times,
-- read by the pages, the metrics and the alerts.
CREATE TABLE app_rails (
    app_slug          TEXT PRIMARY KEY REFERENCES apps (slug) ON DELETE CASCADE,
    -- 'revocations': the guard tripped, revocations are held; 'all': nothing is sent
    paused            TEXT CHECK (paused IN ('revocations', 'all')),
    pause_reason      TEXT,
    paused_by         TEXT,
    paused_at         INTEGER,
    -- the first failed request since the last success (NULL: the last request succeeded)
    failing_since     INTEGER,
    quarantined_at    INTEGER,
    quarantine_reason TEXT,
    next_probe_at     INTEGER,
    CHECK ((paused IS NULL) = (paused_at IS NULL)),
    CHECK ((quarantined_at IS NULL) = (next_probe_at IS NULL))
) WITHOUT ROWID;
