-- Dashboard access becomes a level: none, viewer (sees every page, changes nothing,
-- no secrets) or admin. Today's admins stay admins.
ALTER TABLE users ADD COLUMN dashboard TEXT NOT NULL DEFAULT 'none'
    CHECK (dashboard IN ('none', 'viewer', 'admin'));
UPDATE users SET dashboard = 'admin' WHERE is_admin = 1;
ALTER TABLE users DROP COLUMN is_admin;

-- A TOTP second factor per person: on once confirmed with a code; `last_step` is the
-- time step of the last code taken, so a code is never taken twice.
CREATE TABLE totp (
    user_id      TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       TEXT NOT NULL,          -- base32; needed to check codes, so not hashed
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

-- One-time recovery codes: SHA-256 of random codes (high entropy, so a fast hash).
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- One-time links that let a person set their password (an invitation, a reset):
-- stored as the SHA-256 of the token; they end when used, when they expire, or when
-- the person's password or dashboard access changes.
CREATE TABLE sign_in_links (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX sign_in_links_user ON sign_in_links (user_id);
