-- Cancelling a held wave (issue 25): what each person's access was before the change
-- that revoked it, so that Resume can put it back instead of carrying it out.
-- Triggers note the earliest previous value within a change; UserService::write keeps
-- the notes of pairs whose revocation is still pending (not yet sent, or held) and
-- forgets the rest, so these tables only ever hold the revocations Resume may cancel.

-- A person's own role in an app before it was changed.
CREATE TABLE prior_roles (
    user_id     TEXT NOT NULL,
    app_slug    TEXT NOT NULL,
    direct_role TEXT NOT NULL CHECK (direct_role IN ('admin', 'user', 'none')),
    PRIMARY KEY (user_id, app_slug)
) WITHOUT ROWID;

-- A group membership that was removed.
CREATE TABLE prior_memberships (
    user_id  TEXT NOT NULL,
    group_id TEXT NOT NULL,
    PRIMARY KEY (user_id, group_id)
) WITHOUT ROWID;

CREATE TRIGGER prior_role_noted AFTER UPDATE OF direct_role ON app_access
WHEN OLD.direct_role IS NOT NEW.direct_role
BEGIN
    -- Not INSERT OR IGNORE: the statement that fires a trigger imposes its own conflict
    -- handling on the trigger's (an upsert's is ABORT).
    INSERT INTO prior_roles (user_id, app_slug, direct_role)
    SELECT OLD.user_id, OLD.app_slug, OLD.direct_role
     WHERE NOT EXISTS (SELECT 1 FROM prior_roles
                        WHERE user_id = OLD.user_id AND app_slug = OLD.app_slug);
END;

CREATE TRIGGER prior_membership_noted AFTER DELETE ON group_members
BEGIN
    INSERT INTO prior_memberships (user_id, group_id)
    SELECT OLD.user_id, OLD.group_id
     WHERE NOT EXISTS (SELECT 1 FROM prior_memberships
                        WHERE user_id = OLD.user_id AND group_id = OLD.group_id);
END;
