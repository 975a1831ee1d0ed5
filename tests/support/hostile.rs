//! Helpers for the hostile-input tests (`hostile_*`): CSV import through the real
//! UserService on a real SQLite file, and the hostile names several of them use.

use std::collections::HashMap;

use accessboard::domain::{DashboardAccess, Slug};
use accessboard::users::{ImportRow, ServiceError};

use super::api::Context;
use super::env::TestEnv;
use super::settings::{plain_app, scim_app};

/// `files` (SCIM, installed) and `wiki` (no SCIM).
pub async fn import_env() -> (TestEnv, Context) {
    let env = TestEnv::new(&format!(
        "{}{}",
        scim_app("files", "http://127.0.0.1:9/scim", "t", ""),
        plain_app("wiki")
    ));
    let ctx = env.open().await;
    ctx.service
        .install_app(&Slug::parse("files").unwrap())
        .await
        .unwrap();
    (env, ctx)
}

/// (email, name, dashboard admin, role in files) of every user, by normalized email.
pub fn stored(ctx: &Context) -> HashMap<String, (String, String, bool, String)> {
    let conn = ctx.service.db().conn().unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT u.email_norm, u.email, u.name, u.dashboard = 'admin', COALESCE(a.role, '-') FROM users u
             LEFT JOIN app_access a ON a.user_id = u.id AND a.app_slug = 'files'",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

pub fn user_count(ctx: &Context) -> i64 {
    ctx.service
        .db()
        .conn()
        .unwrap()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap()
}

/// Plans and imports; checks the report against the plan and the database.
pub async fn import(
    ctx: &Context,
    csv: Vec<u8>,
) -> Result<accessboard::users::ImportReport, String> {
    let plan = match ctx.service.plan_import(csv).await {
        Ok(p) => p,
        Err(e @ ServiceError::Invalid(_)) => return Err(e.to_string()),
        Err(e) => panic!("not a usage error: {e}"),
    };
    let valid: Vec<_> = plan
        .rows
        .iter()
        .filter_map(|r| match r {
            ImportRow::Valid { user, .. } => Some(user.clone()),
            ImportRow::Invalid(_) => None,
        })
        .collect();
    let planned_errors = plan.errors();
    let report = ctx.service.import(plan).await.expect("import");
    assert_eq!(report.created, valid.len());
    assert_eq!(report.errors, planned_errors, "nothing changed in between");
    let now = stored(ctx);
    for u in valid {
        let (email, name, admin, _) = &now[u.email.normalized()];
        assert_eq!(email, u.email.as_str());
        assert_eq!(name, u.name.as_str());
        assert_eq!(*admin, u.dashboard == DashboardAccess::Admin);
    }
    Ok(report)
}

pub const HOSTILE_NAMES: &[&str] = &[
    "<script>alert(1)</script>",
    "O'Brien \"Q\" & Sons",
    "Comma, Person",
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(1)",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "\u{202E}evil.exe\u{202C} Ann",
    "Zoë 😀👩‍👩‍👧 שלום עליכם",
    "Ada Lovelace",
];

/// A cell as a spreadsheet would write it.
pub fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
