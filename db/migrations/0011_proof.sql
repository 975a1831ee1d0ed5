-- Proving that an account is the person's (issue 23): the userName the app held for the
-- pair when it last confirmed it. An account at the stored id that carries neither our
-- externalId, nor this name, nor the person's own userName or email is someone else's.
ALTER TABLE app_access ADD COLUMN scim_user_name TEXT;
