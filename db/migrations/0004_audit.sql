-- The admin audit trail: who changed what, when, before → after (never a secret).
-- Append-only: rows are never updated; they are pruned by age ([audit] retention_days).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
