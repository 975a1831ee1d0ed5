//! The people list's search: how a typed text becomes the condition on `users` and the
//! order its matches are read in.

/// How the people list's search finds people.
pub(crate) enum PeopleSearch {
    None,
    /// Three characters or more: the trigram index `users_search` (migration 13), which
    /// folds case and diacritics by Unicode rules; the value is an FTS5 phrase, which a
    /// trigram index matches as a substring.
    Indexed(String),
    /// Shorter: the index holds no pieces under three characters, so a LIKE over every
    /// row (ASCII case folding only); the value is a LIKE pattern.
    Scan(String),
}

impl PeopleSearch {
    /// From the text typed in the search box (surrounding blanks ignored).
    pub(crate) fn of(raw: Option<&str>) -> PeopleSearch {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => PeopleSearch::None,
            Some(s) if s.chars().count() >= 3 => {
                PeopleSearch::Indexed(format!("\"{}\"", s.replace('"', "\"\"")))
            }
            Some(s) => PeopleSearch::Scan(super::contains_pattern(s)),
        }
    }

    /// Whether nothing was typed.
    pub(crate) fn is_none(&self) -> bool {
        matches!(self, PeopleSearch::None)
    }

    /// The value bound to `?1`.
    pub(crate) fn param(&self) -> Option<&str> {
        match self {
            PeopleSearch::None => None,
            PeopleSearch::Indexed(v) | PeopleSearch::Scan(v) => Some(v),
        }
    }

    /// What the people are read from: with the index, its matches joined to their rows,
    /// so that only the matches are read (no list of them built first).
    pub(crate) fn source(&self) -> &'static str {
        match self {
            PeopleSearch::Indexed(_) => {
                "users_search JOIN users ON users.search_row = users_search.rowid"
            }
            PeopleSearch::None | PeopleSearch::Scan(_) => "users",
        }
    }

    /// The condition on `source` that `?1` drives.
    pub(crate) fn clause(&self) -> &'static str {
        match self {
            PeopleSearch::Indexed(_) => "users_search MATCH ?1",
            PeopleSearch::None | PeopleSearch::Scan(_) => {
                "(?1 IS NULL OR name LIKE ?1 ESCAPE '\\' OR email_norm LIKE lower(?1) ESCAPE '\\')"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::db::read::{self, SortBy, UserQuery};

    fn db_with(people: &[(&str, &str)]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let conn = db.conn().unwrap();
        for (i, (name, email)) in people.iter().enumerate() {
            conn.execute(
                "INSERT INTO users (id, email, email_norm, name, created_at, updated_at)
                 VALUES (?1, ?2, lower(?2), ?3, 0, 0)",
                rusqlite::params![format!("00000000-0000-4000-8000-{i:012}"), email, name],
            )
            .unwrap();
        }
        (dir, db)
    }

    fn found(db: &Db, q: &str) -> Vec<String> {
        let conn = db.conn().unwrap();
        let query = UserQuery {
            search: Some(q.into()),
            include_deleting: true,
            limit: 50,
            ..UserQuery::default()
        };
        let (rows, total) = read::users(&conn, &query).unwrap();
        assert_eq!(rows.len(), total, "count and page agree for {q:?}");
        rows.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn finds_names_and_emails_whatever_their_case_and_accents() {
        let (_dir, db) = db_with(&[
            ("Élodie Müller", "elodie@example.org"),
            ("Ødegaard Ærø", "oe@example.org"),
            ("Ana Lima", "ANA.LIMA@Example.org"),
            ("Bob \"Quote\" 100%", "bob@example.org"),
        ]);
        assert_eq!(found(&db, "ÉLODIE"), ["Élodie Müller"]);
        assert_eq!(found(&db, "muller"), ["Élodie Müller"]);
        assert_eq!(found(&db, "ødeg"), ["Ødegaard Ærø"]);
        assert_eq!(found(&db, "ana.lima@EXAMPLE"), ["Ana Lima"]);
        assert_eq!(found(&db, "\"quote\""), ["Bob \"Quote\" 100%"]);
        assert_eq!(found(&db, "100%"), ["Bob \"Quote\" 100%"]);
        assert_eq!(found(&db, "an"), ["Ana Lima"], "two letters: a scan");
        assert!(found(&db, "nobody").is_empty());
    }

    #[test]
    fn renamed_and_removed_people_are_found_by_their_current_names_only() {
        let (_dir, db) = db_with(&[("Grace Hopper", "grace@example.org")]);
        let conn = db.conn().unwrap();
        conn.execute(
            "UPDATE users SET name = 'Grace Brewster', email = 'gb@example.org'",
            [],
        )
        .unwrap();
        assert!(found(&db, "hopper").is_empty());
        assert_eq!(found(&db, "brewster"), ["Grace Brewster"]);
        assert_eq!(found(&db, "gb@ex"), ["Grace Brewster"]);
        conn.execute("DELETE FROM users", []).unwrap();
        assert!(found(&db, "brewster").is_empty());
        // A person added later gets the next number, not one in use.
        conn.execute(
            "INSERT INTO users (id, email, email_norm, name, created_at, updated_at)
             VALUES ('00000000-0000-4000-8000-000000000009', 'k@example.org', 'k@example.org', 'Katherine Johnson', 0, 0)",
            [],
        )
        .unwrap();
        assert_eq!(found(&db, "katherine"), ["Katherine Johnson"]);
    }

    #[test]
    fn a_search_reads_its_matches_through_the_index_not_every_person() {
        let (_dir, db) = db_with(&[("Ada", "ada@example.org")]);
        let conn = db.conn().unwrap();
        let search = PeopleSearch::of(Some("ada"));
        let filter = read::users_filter(&search);
        for sql in [
            format!("SELECT count(*) FROM {} WHERE {filter}", search.source()),
            read::users_page_sql(&search, SortBy::Name.order()),
            read::users_page_sql(&search, SortBy::Email.order()),
        ] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = stmt
                .query_map(
                    rusqlite::params![
                        "\"ada\"",
                        true,
                        50,
                        0,
                        None::<String>,
                        None::<String>,
                        None::<String>,
                        None::<String>,
                        None::<String>
                    ],
                    |r| r.get::<_, String>(3),
                )
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let plan = plan.join("\n");
            assert!(plan.contains("users_search_row"), "{sql}:\n{plan}");
            let reads_everyone = plan
                .lines()
                .any(|l| l == "SCAN users" || l.starts_with("SCAN users "));
            assert!(!reads_everyone, "{sql}:\n{plan}");
        }
    }

    #[test]
    fn a_page_read_again_with_other_values_is_not_planned_again() {
        let (_dir, db) = db_with(&[("Ada", "ada@example.org"), ("Bob", "bob@example.org")]);
        let conn = db.conn().unwrap();
        let sql = read::users_page_sql(&PeopleSearch::of(None), SortBy::Name.order());
        for (limit, offset) in [(50, 0), (1, 1), (10, 0)] {
            let mut stmt = conn.prepare_cached(&sql).unwrap();
            let params = rusqlite::params![
                None::<String>,
                true,
                limit,
                offset,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>
            ];
            let n = stmt.query_map(params, |_| Ok(())).unwrap().count();
            assert!(n >= 1);
            assert_eq!(
                stmt.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "LIMIT {limit} OFFSET {offset}: the cached statement was parsed again"
            );
        }
    }
}
