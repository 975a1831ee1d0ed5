-- accessboard schema, version 2: dashboard sign-in.

-- One row per signed-in browser; the cookie carries the id. Logout deletes
-- the row, so a copied cookie stops working too.
CREATE TABLE web_sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Failed sign-ins per account ('account:<email>') and per client address ('ip:<addr>').
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0
);
