-- Dashboard access becomes a level: none, viewer (sees every page, changes nothing,
-- no secrets) or admin. Today's admins stay admins.
ALTER TABLE users ADD COLUMN dashboard TEXT NOT NULL DEFAULT 'none'
    CHECK (dashboard IN ('none', 'viewer', 'admin'));
UPDATE users SET dashboard = 'admin' WHERE is_admin = 1;
ALTER TABLE users DROP COLUMN is_admin;
