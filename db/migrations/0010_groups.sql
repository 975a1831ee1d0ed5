-- Groups (issue 17): people share a group, a group is granted a role in apps.
-- "groups" is an SQL keyword, hence access_groups.
CREATE TABLE access_groups (
    id          TEXT PRIMARY KEY,              -- uuid; the externalId of a pushed group
    name        TEXT NOT NULL,                 -- as entered
    name_norm   TEXT NOT NULL,                 -- lower-cased, for uniqueness
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX access_groups_name_norm ON access_groups (name_norm);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES access_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- A group's role in an app; no row = no grant.
CREATE TABLE group_grants (
    group_id TEXT NOT NULL REFERENCES access_groups (id) ON DELETE CASCADE,
    app_slug TEXT NOT NULL REFERENCES apps (slug) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    PRIMARY KEY (group_id, app_slug)
) WITHOUT ROWID;
CREATE INDEX group_grants_app ON group_grants (app_slug);

-- app_access.role is from now on the role the pair should have (the highest of the
-- person's own role and their groups' roles: Role::effective); direct_role is the
-- person's own. Existing rows had only their own.
ALTER TABLE app_access ADD COLUMN direct_role TEXT NOT NULL DEFAULT 'none'
    CHECK (direct_role IN ('admin', 'user', 'none'));
UPDATE app_access SET direct_role = role;

-- The groups accessboard created in apps with [apps.scim] push_groups: only these are
-- renamed or deleted there. A row outlives its group until the app's group is deleted.
CREATE TABLE pushed_groups (
    app_slug TEXT NOT NULL REFERENCES apps (slug) ON DELETE CASCADE,
    group_id TEXT NOT NULL,                    -- access_groups.id (no reference: see above)
    scim_id  TEXT NOT NULL,                    -- the group's id in the app
    name     TEXT NOT NULL,                    -- its displayName as last written
    PRIMARY KEY (app_slug, group_id)
) WITHOUT ROWID;
