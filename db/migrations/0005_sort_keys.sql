-- People sorted as readers expect (Unicode root collation): each name and email
-- carries its collation sort key, computed by accessboard (domain::sort_key) and
-- rewritten at start when the collation's version changes, so the people list
-- pages through an index instead of sorting everyone on every request.
ALTER TABLE users ADD COLUMN name_key BLOB NOT NULL DEFAULT x'';
ALTER TABLE users ADD COLUMN email_key BLOB NOT NULL DEFAULT x'';
CREATE INDEX users_name_key ON users (name_key, email_norm);
CREATE INDEX users_email_key ON users (email_key, email_norm);
