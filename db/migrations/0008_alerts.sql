-- Alerts ([alerts]): the conditions worth telling an admin about while they last, the
-- failed pairs already named in an alert, and the messages waiting for each channel.
-- Kept here, not in memory, so a restart neither repeats an alert nor loses one.

-- One row per condition from the moment it is raised until its resolution is queued.
-- app_slug is '' for conditions of the whole installation (SQLite keys treat NULLs as
-- all different).
CREATE TABLE alert_conditions (
    kind         TEXT NOT NULL CHECK (kind IN ('pairs_failed', 'drift', 'identity_sync_held_back',
                                               'app_quarantined', 'revocation_guard')),
    app_slug     TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL,       -- what the raise said; composed here, never a secret
    raised_at    INTEGER NOT NULL,
    announced_at INTEGER,             -- when its last message was queued; NULL: not yet
    resolved_at  INTEGER,             -- NULL while it lasts
    resolution   TEXT,
    PRIMARY KEY (kind, app_slug)
) WITHOUT ROWID;

-- Failed pairs an alert has named, while they stay failed since that time.
CREATE TABLE alert_failed_pairs (
    app_slug     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    failed_since INTEGER NOT NULL,
    PRIMARY KEY (app_slug, user_id)
) WITHOUT ROWID;

-- Messages to send, one row per channel; deleted once the channel took it.
CREATE TABLE alert_outbox (
    id         INTEGER PRIMARY KEY,
    channel    TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    kind       TEXT NOT NULL,
    app_slug   TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL CHECK (state IN ('raised', 'update', 'resolved')),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX alert_outbox_channel ON alert_outbox (channel, id);
