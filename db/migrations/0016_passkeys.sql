-- Passkeys (WebAuthn credentials) as a second factor, beside TOTP. The public key and
-- the authenticator's state are stored as webauthn_rp encodes them; `sign_count` is
-- kept apart too so a counter that goes backwards can be seen and audited.
CREATE TABLE passkeys (
    credential_id BLOB PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    user_handle   BLOB NOT NULL,          -- the same for all of a person's passkeys
    public_key    BLOB NOT NULL,          -- webauthn_rp's StaticState
    state         BLOB NOT NULL,          -- webauthn_rp's DynamicState (counter, flags)
    sign_count    INTEGER NOT NULL,
    transports    INTEGER NOT NULL,       -- webauthn_rp's AuthTransports
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- Ceremonies in progress: the challenge's server state, taken once, for the person and
-- purpose it was made for, before it expires. Its id lives only in the browser's
-- signed session cookie.
CREATE TABLE passkey_ceremonies (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in', 'reauth')),
    name       TEXT,
    state      BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
