-- The role the app last confirmed for each pair, NULL when unknown (never synced, or
-- an attempt that failed or was cut short may have changed the app half-way). Says
-- where the account stands in mapped groups without asking, and lets a value
-- accessboard does not map (a Zulip owner set by hand) stay unless the role here changes.
ALTER TABLE app_access ADD COLUMN synced_role TEXT;

-- The provisioning log is pruned by age ([provisioning] log_retention_days).
CREATE INDEX provision_log_at ON provision_log (at);
