-- The role the app last confirmed for each pair: a value accessboard does not map
-- (a Zulip owner set by hand) is left alone unless the role here changes.
ALTER TABLE app_access ADD COLUMN synced_role TEXT;
