-- accessboard schema, version 5: provisioning events and the overview's counters.

-- One row per reconcile attempt of a pair: what the admin reads on /activity. The
-- requests it made stay in provision_log, linked by attempt_id. Names are copied so an
-- event still reads well after the person is purged.
CREATE TABLE provision_attempts (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    user_id     TEXT,
    user_email  TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    app_slug    TEXT NOT NULL,
    -- a pair status the attempt ended in, or 'ok' for rows kept from before version 5
    outcome     TEXT NOT NULL CHECK (outcome IN
                  ('provisioned', 'deprovisioned', 'not_provisioned', 'error', 'failed', 'ok')),
    summary     TEXT NOT NULL,
    message     TEXT,
    requests    INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX provision_attempts_at ON provision_attempts (at);
CREATE INDEX provision_attempts_app ON provision_attempts (app_slug, id);
CREATE INDEX provision_attempts_user ON provision_attempts (user_id, id);
CREATE INDEX provision_attempts_outcome ON provision_attempts (outcome, id);

ALTER TABLE provision_log ADD COLUMN attempt_id INTEGER REFERENCES provision_attempts (id) ON DELETE CASCADE;
ALTER TABLE provision_log ADD COLUMN method TEXT;
ALTER TABLE provision_log ADD COLUMN path TEXT;
CREATE INDEX provision_log_attempt ON provision_log (attempt_id);

-- Earlier versions wrote every request of one attempt with the same time: one event each.
INSERT INTO provision_attempts (at, user_id, user_email, user_name, app_slug, outcome, summary, message, requests, duration_ms)
SELECT l.at, l.user_id, COALESCE(l.user_email, ''), COALESCE(u.name, l.user_email, ''), l.app_slug,
       CASE WHEN sum(l.outcome != 'ok') > 0 THEN 'error' ELSE 'ok' END,
       'recorded before events were kept', max(l.message), count(*), COALESCE(sum(l.duration_ms), 0)
FROM provision_log l LEFT JOIN users u ON u.id = l.user_id
GROUP BY l.at, l.user_id, l.user_email, l.app_slug
ORDER BY min(l.id);
UPDATE provision_log SET attempt_id = (
    SELECT a.id FROM provision_attempts a
    WHERE a.at = provision_log.at AND a.app_slug = provision_log.app_slug
      AND a.user_id IS provision_log.user_id AND a.user_email = COALESCE(provision_log.user_email, '')
);

-- Pairs per app and status, kept by triggers as pairs change, so the overview never
-- counts app_access per request.
CREATE TABLE app_status_counts (
    app_slug TEXT NOT NULL,
    status   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (app_slug, status)
) WITHOUT ROWID;
INSERT INTO app_status_counts (app_slug, status, n)
SELECT app_slug, status, count(*) FROM app_access GROUP BY app_slug, status;

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

-- Each app's last success and last error, kept as events are recorded (pruning the
-- events does not forget them).
CREATE TABLE app_health (
    app_slug        TEXT PRIMARY KEY,
    last_success_at INTEGER,
    last_error_at   INTEGER,
    last_error      TEXT
);
INSERT INTO app_health (app_slug, last_success_at, last_error_at)
SELECT app_slug,
       max(CASE WHEN outcome IN ('error', 'failed') THEN NULL ELSE at END),
       max(CASE WHEN outcome IN ('error', 'failed') THEN at END)
FROM provision_attempts GROUP BY app_slug;

-- One statement per event: it runs in the transaction of every attempt.
CREATE TRIGGER provision_attempt_failed AFTER INSERT ON provision_attempts
WHEN NEW.outcome IN ('error', 'failed') BEGIN
    INSERT INTO app_health (app_slug, last_error_at, last_error)
    VALUES (NEW.app_slug, NEW.at, COALESCE(NEW.message, NEW.summary))
    ON CONFLICT (app_slug) DO UPDATE SET last_error_at = excluded.last_error_at, last_error = excluded.last_error;
END;
CREATE TRIGGER provision_attempt_succeeded AFTER INSERT ON provision_attempts
WHEN NEW.outcome NOT IN ('error', 'failed') BEGIN
    INSERT INTO app_health (app_slug, last_success_at) VALUES (NEW.app_slug, NEW.at)
    ON CONFLICT (app_slug) DO UPDATE SET last_success_at = excluded.last_success_at;
END;
