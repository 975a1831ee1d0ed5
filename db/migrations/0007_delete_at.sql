-- Two-stage deletion ([apps.scim] delete_after_days): when a disabled account is due to
-- be deleted, as a date so that it survives restarts. NULL: never (or not disabled).
ALTER TABLE app_access ADD COLUMN delete_at INTEGER;
CREATE INDEX app_access_delete_at ON app_access (delete_at) WHERE delete_at IS NOT NULL;
