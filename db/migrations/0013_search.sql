-- Search on the people list (issue 25): a trigram index of every person's name and
-- email, folded for case and diacritics by Unicode rules (SQLite's LIKE folds ASCII
-- only), so a search reads the matching people instead of every row.
--
-- The index is keyed by `search_row`, a number stored in the row rather than the
-- implicit rowid, which VACUUM may renumber in a table without an INTEGER PRIMARY KEY.
ALTER TABLE users ADD COLUMN search_row INTEGER;
UPDATE users SET search_row = rowid;
CREATE UNIQUE INDEX users_search_row ON users (search_row);

CREATE VIRTUAL TABLE users_search USING fts5(name, email, tokenize = 'trigram remove_diacritics 1');
INSERT INTO users_search (rowid, name, email) SELECT search_row, name, email FROM users;

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    UPDATE users SET search_row = (SELECT coalesce(max(search_row), 0) + 1 FROM users)
     WHERE rowid = new.rowid;
    INSERT INTO users_search (rowid, name, email)
        SELECT search_row, name, email FROM users WHERE rowid = new.rowid;
END;

CREATE TRIGGER users_search_update AFTER UPDATE OF name, email ON users BEGIN
    UPDATE users_search SET name = new.name, email = new.email WHERE rowid = new.search_row;
END;

CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.search_row;
END;
