//! Hostile input: arbitrary strings at the parsers, broken and huge CSV files at
//! the import, HTML / control characters / bidi overrides / emoji at the pages,
//! and oversized bodies at every POST route. Every test checks what is stored
//! or shown, not only that nothing panicked.

// Only the TestEnv helpers: the rest of tests/common is not needed here.
#[path = "common/app.rs"]
mod app;
mod web_support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use accessboard::cli::Context;
use accessboard::domain::{Email, Role, Slug};
use accessboard::users::{ImportRow, MAX_IMPORT_BYTES, ServiceError};
use app::{TestEnv, plain_app, scim_app};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use reqwest::StatusCode;
use web_support::*;

/// The dashboard's body limits (private consts of `accessboard::web::csrf`).
const FORM_LIMIT: usize = 64 * 1024;

/// HTML-escaped as maud escapes text and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---------------------------------------------------------------------------
// Email, Role, Slug: properties of the parsers
// ---------------------------------------------------------------------------

/// A valid address: local part of address characters, a dotted domain, maybe
/// surrounded by whitespace (which is dropped).
fn valid_email() -> impl Strategy<Value = String> {
    (
        "[ \t]{0,2}",
        "[A-Za-z0-9._%+'=!#$&*/?^`{|}~-]{1,40}",
        prop::collection::vec("[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", 1..4),
        "[ \t\n]{0,2}",
    )
        .prop_map(|(pre, local, labels, post)| format!("{pre}{local}@{}{post}", labels.join(".")))
}

/// Flips the case of the ASCII letters where `mask` says so.
fn flip_case(s: &str, mask: &[bool]) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask.get(i % mask.len().max(1)).copied().unwrap_or(false) {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

fn hash_of(e: &Email) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    thread_local!(static STATE: RandomState = RandomState::new());
    STATE.with(|s| s.hash_one(e))
}

/// Control characters: C0, DEL, C1.
fn control_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        Just('\u{7f}'),
        (0x80u32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
    ]
}

/// Whitespace that may not appear inside an address.
fn inner_space() -> impl Strategy<Value = char> {
    prop::sample::select(vec![' ', '\u{a0}', '\u{2003}', '\u{3000}', '\u{2028}'])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_string_parses_or_is_refused_with_a_message(s in any::<String>()) {
        match Email::parse(&s) {
            Ok(e) => {
                let t = s.trim();
                prop_assert_eq!(e.as_str(), t, "display is the trimmed input as typed");
                prop_assert_eq!(e.to_string(), t);
                prop_assert_eq!(e.normalized(), t.to_lowercase());
                prop_assert!(t.len() <= 254);
                prop_assert_eq!(t.matches('@').count(), 1);
                prop_assert!(!t.chars().any(|c| c.is_whitespace() || c.is_control()));
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e, "parse(display(x)) == x");
            }
            Err(err) => {
                let msg = err.to_string();
                prop_assert!(msg.starts_with("email"), "{}", msg);
                prop_assert!(msg.chars().count() < 400, "the message stays short: {}", msg);
                prop_assert!(!msg.chars().any(char::is_control), "the message shows no raw control characters: {:?}", msg);
            }
        }
    }

    #[test]
    fn valid_addresses_round_trip_and_compare_without_case(raw in valid_email(), mask in prop::collection::vec(any::<bool>(), 1..16)) {
        let e = Email::parse(&raw).unwrap_or_else(|err| panic!("{raw:?} refused: {err}"));
        prop_assert_eq!(e.as_str(), raw.trim());
        prop_assert_eq!(e.normalized(), raw.trim().to_lowercase());
        let variant = flip_case(&raw, &mask);
        let v = Email::parse(&variant).unwrap();
        prop_assert_eq!(v.as_str(), variant.trim(), "each variant keeps its own case for display");
        prop_assert_eq!(&v, &e, "case variants are the same address");
        prop_assert_eq!(v.normalized(), e.normalized());
        prop_assert_eq!(hash_of(&v), hash_of(&e), "and hash alike");
        let again = Email::parse(&e.to_string()).unwrap();
        prop_assert_eq!(again.as_str(), e.as_str());
    }

    #[test]
    fn control_characters_inside_an_address_are_refused(raw in valid_email(), c in control_char(), at in any::<prop::sample::Index>()) {
        let t = raw.trim();
        let chars: Vec<char> = t.chars().collect();
        let i = 1 + at.index(chars.len() - 1); // strictly inside
        let bad: String = chars[..i].iter().chain([&c]).chain(&chars[i..]).collect();
        let err = Email::parse(&bad).expect_err(&format!("{bad:?} accepted"));
        let msg = err.to_string();
        prop_assert!(msg.contains("control character"), "{}", msg);
        prop_assert!(!msg.contains(c), "the message escapes the character: {:?}", msg);
    }

    #[test]
    fn spaces_inside_an_address_are_refused(raw in valid_email(), c in inner_space(), at in any::<prop::sample::Index>()) {
        let t = raw.trim();
        let chars: Vec<char> = t.chars().collect();
        let i = 1 + at.index(chars.len() - 1);
        let bad: String = chars[..i].iter().chain([&c]).chain(&chars[i..]).collect();
        let msg = Email::parse(&bad).expect_err(&format!("{bad:?} accepted")).to_string();
        prop_assert!(msg.contains("contains a space"), "{}", msg);
    }

    #[test]
    fn addresses_without_exactly_one_at_are_refused(raw in valid_email(), extra in any::<bool>()) {
        let t = raw.trim();
        let bad = if extra { format!("{t}@x.org") } else { t.replace('@', "") };
        let msg = Email::parse(&bad).expect_err(&format!("{bad:?} accepted")).to_string();
        prop_assert!(msg.contains("exactly one @"), "{}", msg);
    }

    #[test]
    fn addresses_over_254_bytes_are_refused(local in "[a-z]{1,64}", label in "[a-z]{1,63}", n in 0usize..200) {
        let mut domain = label.clone();
        while format!("{local}@{domain}").len() <= 254 + n {
            domain.push('.');
            domain.push_str(&label);
        }
        let bad = format!("{local}@{domain}");
        prop_assert!(bad.len() > 254);
        let msg = Email::parse(&bad).expect_err("over-long accepted").to_string();
        prop_assert!(msg.contains("longer than 254"), "{}", msg);
        prop_assert!(msg.chars().count() < 120, "the message does not repeat it all: {}", msg);
    }

    #[test]
    fn roles_are_exactly_admin_user_none(s in any::<String>()) {
        let expected = match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            "none" => Some(Role::None),
            _ => None,
        };
        match Role::parse(&s) {
            Ok(r) => prop_assert_eq!(Some(r), expected),
            Err(e) => {
                prop_assert_eq!(expected, None);
                prop_assert!(e.to_string().contains("is not one of admin, user, none"), "{}", e);
            }
        }
    }

    #[test]
    fn role_spellings_in_any_case_parse(word in prop::sample::select(vec!["admin", "user", "none"]), mask in prop::collection::vec(any::<bool>(), 1..6), pad in "[ \t]{0,2}") {
        let typed = format!("{pad}{}{pad}", flip_case(word, &mask));
        let r = Role::parse(&typed).unwrap();
        prop_assert_eq!(r.as_str(), word);
        prop_assert_eq!(Role::parse(&r.to_string()).unwrap(), r, "parse(display(x)) == x");
    }

    #[test]
    fn slugs_are_exactly_the_documented_shape(s in prop_oneof![any::<String>(), "[a-z0-9_-]{0,70}", "[a-zA-Z0-9_ ./-]{1,10}"]) {
        let shape = !s.is_empty()
            && s.len() <= 63
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && !s.starts_with(['-', '_']);
        match Slug::parse(&s) {
            Ok(slug) => {
                prop_assert!(shape, "{:?} accepted", s);
                prop_assert_eq!(slug.as_str(), s.as_str());
                prop_assert_eq!(Slug::parse(&slug.to_string()).unwrap(), slug);
            }
            Err(e) => {
                prop_assert!(!shape, "{:?} refused", s);
                prop_assert!(e.to_string().contains("must be 1-63 lowercase letters"), "{}", e);
            }
        }
    }
}

#[test]
fn roles_and_slugs_round_trip() {
    for r in [Role::Admin, Role::User, Role::None] {
        assert_eq!(Role::parse(r.as_str()).unwrap(), r);
    }
    for s in ["a", "0", "files", "zulip-2", "x_y", &"z".repeat(63)] {
        assert_eq!(Slug::parse(s).unwrap().to_string(), s);
    }
}

#[test]
fn bidi_overrides_and_invisible_characters_in_addresses_are_refused() {
    // U+202E turns "evil@example.org" into what reads as a different address.
    for c in [
        '\u{202E}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200E}',
        '\u{200F}', '\u{061C}', '\u{200B}', '\u{FEFF}',
    ] {
        let bad = format!("ann{c}gro@example.org");
        let msg = Email::parse(&bad)
            .expect_err(&format!("{bad:?} accepted"))
            .to_string();
        assert!(msg.contains("invisible"), "{msg}");
        assert!(!msg.contains(c), "the message escapes it: {msg:?}");
    }
    // emoji and non-Latin letters are ordinary characters
    assert_eq!(
        Email::parse("😀@example.org").unwrap().as_str(),
        "😀@example.org"
    );
    assert_eq!(
        Email::parse("jörg@bücher.de").unwrap().as_str(),
        "jörg@bücher.de"
    );
}

#[test]
fn email_messages_name_the_actual_problem() {
    let msg = |s: &str| Email::parse(s).unwrap_err().to_string();
    assert!(
        msg("<script>alert(1)</script>@example.org").contains("not allowed in an address"),
        "{}",
        msg("<script>alert(1)</script>@example.org")
    );
    assert!(msg("\"q\"@example.org").contains("not allowed in an address"));
    let long_local = format!("{}@example.org", "a".repeat(65));
    assert!(
        msg(&long_local).contains("more than 64 bytes before the @"),
        "{}",
        msg(&long_local)
    );
    assert!(msg("bob").contains("exactly one @"));
    assert!(msg("a b@x.org").contains("contains a space"));
}

// ---------------------------------------------------------------------------
// CSV import through the real UserService on a real SQLite file
// ---------------------------------------------------------------------------

/// `files` (SCIM, installed) and `wiki` (no SCIM).
async fn import_env() -> (TestEnv, Context) {
    let env = TestEnv::new(&format!(
        "{}{}",
        scim_app("files", "http://127.0.0.1:9/scim", "t", ""),
        plain_app("wiki")
    ));
    let ctx = env.context().await;
    ctx.service
        .install_app(&Slug::parse("files").unwrap())
        .await
        .unwrap();
    (env, ctx)
}

/// (email, name, is_admin, role in files) of every user, by normalized email.
fn stored(ctx: &Context) -> HashMap<String, (String, String, bool, String)> {
    let conn = ctx.service.db().conn().unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT u.email_norm, u.email, u.name, u.is_admin, COALESCE(a.role, '-') FROM users u
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

fn user_count(ctx: &Context) -> i64 {
    ctx.service
        .db()
        .conn()
        .unwrap()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap()
}

/// Plans and imports; checks the report against the plan and the database.
async fn import(ctx: &Context, csv: Vec<u8>) -> Result<accessboard::users::ImportReport, String> {
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
        assert_eq!(*admin, u.is_admin);
    }
    Ok(report)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_are_refused_or_imported_row_by_row() {
    let (_env, ctx) = import_env().await;
    let handle = tokio::runtime::Handle::current();
    let strategy = (
        any::<bool>(),
        prop::collection::vec(
            prop_oneof![
                any::<u8>(),
                prop::sample::select(",\n\r\"@. aé".as_bytes().to_vec())
            ],
            0..600,
        ),
    );
    tokio::task::block_in_place(|| {
        runner(96)
            .run(&strategy, |(with_header, bytes)| {
                let mut csv = if with_header {
                    b"email,name,admin,files\n".to_vec()
                } else {
                    Vec::new()
                };
                csv.extend(bytes);
                let before = user_count(&ctx);
                let outcome = handle.block_on(import(&ctx, csv));
                match outcome {
                    Err(msg) => {
                        prop_assert_eq!(user_count(&ctx), before, "refused: nothing stored");
                        prop_assert!(!msg.is_empty());
                    }
                    Ok(report) => {
                        prop_assert_eq!(user_count(&ctx), before + report.created as i64);
                        for e in &report.errors {
                            prop_assert!(e.line >= 2, "{:?}", e);
                            prop_assert!(!e.reason.is_empty());
                            prop_assert!(
                                e.reason.chars().count() <= 300,
                                "reasons stay short: {:?}",
                                e
                            );
                        }
                    }
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    });
}

/// One data row of a generated CSV.
#[derive(Debug, Clone)]
enum Row {
    Good {
        local: String,
        name: String,
        admin: (&'static str, bool),
        role: (&'static str, &'static str),
        pad: bool,
    },
    BadEmail(&'static str, &'static str),
    BadName(String, &'static str),
    BadAdmin,
    BadRole,
    /// The email of an earlier good row, in another case.
    Duplicate(prop::sample::Index),
    TooManyCells,
    /// A quoted name over two lines: refused, and it shifts the later lines.
    NameOverTwoLines,
    /// Skipped without an error.
    Blank(&'static str),
}

const HOSTILE_NAMES: &[&str] = &[
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

fn row() -> impl Strategy<Value = Row> {
    let good = (
        "[a-z0-9._+-]{1,12}",
        prop_oneof![
            prop::sample::select(HOSTILE_NAMES).prop_map(str::to_owned),
            "[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ '.-]{0,20}[a-z]",
        ],
        prop::sample::select(vec![
            ("", false),
            ("true", true),
            ("false", false),
            ("yes", true),
            ("no", false),
            ("1", true),
            ("0", false),
            ("Y", true),
            ("TRUE", true),
        ]),
        prop::sample::select(vec![
            ("", "none"),
            ("admin", "admin"),
            ("user", "user"),
            ("none", "none"),
            ("USER", "user"),
            ("Admin", "admin"),
        ]),
        any::<bool>(),
    )
        .prop_map(|(local, name, admin, role, pad)| Row::Good {
            local,
            name,
            admin,
            role,
            pad,
        });
    prop_oneof![
        6 => good,
        1 => prop::sample::select(vec![
            ("not-an-email", "exactly one @"),
            ("a b@example.org", "contains a space"),
            ("x@-bad.org", "invalid domain"),
            ("<script>@example.org", "not allowed in an address"),
            ("=cmd|' /C calc'!A0", "contains a space"),
        ]).prop_map(|(c, r)| Row::BadEmail(c, r)),
        1 => prop_oneof![
            Just((String::new(), "name is empty")),
            Just(("Bell\u{7}Name".to_owned(), "control character")),
            Just(("Nul\u{0}Name".to_owned(), "control character")),
            Just(("x".repeat(201), "longer than 200 characters")),
        ].prop_map(|(n, r)| Row::BadName(n, r)),
        1 => Just(Row::BadAdmin),
        1 => Just(Row::BadRole),
        1 => any::<prop::sample::Index>().prop_map(Row::Duplicate),
        1 => Just(Row::TooManyCells),
        1 => Just(Row::NameOverTwoLines),
        1 => prop::sample::select(vec!["", "   ", ",,,"]).prop_map(Row::Blank),
    ]
}

/// A cell as a spreadsheet would write it.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Expected outcome of one generated file.
#[derive(Default, Debug)]
struct Expected {
    /// normalized email → (email, name, admin, role)
    stored: HashMap<String, (String, String, bool, String)>,
    /// (line, part of the reason)
    errors: Vec<(usize, String)>,
}

fn build_csv(run: usize, rows: &[Row], crlf: bool) -> (String, Expected) {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out = format!("email,name,admin,files{nl}");
    let mut line = 2;
    let mut exp = Expected::default();
    let mut goods: Vec<(String, usize)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let fresh = format!("r{run}n{i}@example.org");
        let (text, lines) = match r {
            Row::Good {
                local,
                name,
                admin,
                role,
                pad,
            } => {
                let email = format!("r{run}n{i}.{local}@Example.org");
                let p = if *pad { "  " } else { "" };
                exp.stored.insert(
                    email.to_lowercase(),
                    (email.clone(), name.clone(), admin.1, role.1.to_owned()),
                );
                goods.push((email.clone(), line));
                (
                    // padding goes inside the quotes: a quote after a space is text
                    format!(
                        "{p}{email}{p},{},{},{}",
                        cell(&format!("{p}{name}{p}")),
                        admin.0,
                        role.0
                    ),
                    1,
                )
            }
            Row::BadEmail(c, reason) => {
                exp.errors.push((line, reason.to_string()));
                (format!("{},Someone,no,user", cell(c)), 1)
            }
            Row::BadName(n, reason) => {
                exp.errors.push((line, reason.to_string()));
                (format!("{fresh},{},no,user", cell(n)), 1)
            }
            Row::BadAdmin => {
                exp.errors
                    .push((line, "admin \"maybe\" is not true or false".into()));
                (format!("{fresh},Someone,maybe,user"), 1)
            }
            Row::BadRole => {
                exp.errors.push((
                    line,
                    "column files: role \"owner\" is not one of admin, user, none".into(),
                ));
                (format!("{fresh},Someone,no,owner"), 1)
            }
            Row::Duplicate(ix) if !goods.is_empty() => {
                let (first, first_line) = &goods[ix.index(goods.len())];
                let again = first.to_uppercase();
                exp.errors.push((
                    line,
                    format!("email {again} is already on line {first_line}"),
                ));
                (format!("{again},Again,no,user"), 1)
            }
            Row::Duplicate(_) => {
                exp.errors.push((line, "exactly one @".into()));
                ("nobody,Nobody,no,user".to_owned(), 1)
            }
            Row::TooManyCells => {
                exp.errors
                    .push((line, "5 cells, but the header has 4 columns".into()));
                (format!("{fresh},Someone,no,user,extra"), 1)
            }
            Row::NameOverTwoLines => {
                exp.errors.push((line, "control character".into()));
                (format!("{fresh},\"Two{nl}Lines\",no,user"), 2)
            }
            Row::Blank(s) => (s.to_string(), 1),
        };
        out.push_str(&text);
        out.push_str(nl);
        line += lines;
    }
    (out, exp)
}

static RUN: AtomicUsize = AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_row_is_reported_by_line_and_reason_and_good_rows_are_stored_exactly() {
    let (_env, ctx) = import_env().await;
    let handle = tokio::runtime::Handle::current();
    let strategy = (prop::collection::vec(row(), 1..30), any::<bool>());
    tokio::task::block_in_place(|| {
        runner(128)
            .run(&strategy, |(rows, crlf)| {
                let run = RUN.fetch_add(1, Ordering::Relaxed);
                let (csv, exp) = build_csv(run, &rows, crlf);
                let before = stored(&ctx);
                let report = handle
                    .block_on(import(&ctx, csv.clone().into_bytes()))
                    .map_err(|m| TestCaseError::fail(format!("refused whole: {m}\n{csv}")))?;
                let got: Vec<(usize, &str)> = report
                    .errors
                    .iter()
                    .map(|e| (e.line, e.reason.as_str()))
                    .collect();
                prop_assert_eq!(got.len(), exp.errors.len(), "{:#?}\n{}", got, csv);
                for ((line, reason), (want_line, want)) in got.iter().zip(&exp.errors) {
                    prop_assert_eq!(line, want_line, "{:#?}\n{}", got, csv);
                    prop_assert!(
                        reason.contains(want.as_str()),
                        "line {}: {:?} lacks {:?}",
                        line,
                        reason,
                        want
                    );
                }
                prop_assert_eq!(report.created, exp.stored.len());
                let after = stored(&ctx);
                prop_assert_eq!(
                    after.len(),
                    before.len() + exp.stored.len(),
                    "only the good rows"
                );
                for (norm, want) in &exp.stored {
                    prop_assert_eq!(after.get(norm), Some(want), "stored exactly");
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    });
}

#[tokio::test]
async fn encodings_utf8_with_or_without_bom_only() {
    let (_env, ctx) = import_env().await;
    // Latin-1 (as Excel on Windows saves "CSV"): refused, naming the offset
    let latin1 = b"email,name\nj\xf6rg@example.org,J\xf6rg\n".to_vec();
    let msg = import(&ctx, latin1).await.unwrap_err();
    assert!(
        msg.contains("not UTF-8") && msg.contains("offset 12"),
        "{msg}"
    );
    // UTF-16 with a BOM, either byte order: refused
    let text = "email,name\nann@example.org,Ann\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    for bytes in [le, be] {
        let msg = import(&ctx, bytes).await.unwrap_err();
        assert!(
            msg.contains("not UTF-8") && msg.contains("save it as UTF-8"),
            "{msg}"
        );
    }
    assert_eq!(user_count(&ctx), 0, "nothing stored from refused files");
    // a UTF-8 BOM (Excel's "CSV UTF-8") is fine, and the header is still recognized
    let bom = "\u{FEFF}email,name,files\r\njörg@bücher.de,Jörg Müller,user\r\n";
    let report = import(&ctx, bom.as_bytes().to_vec()).await.unwrap();
    assert_eq!((report.created, report.errors.len()), (1, 0));
    let s = stored(&ctx);
    assert_eq!(
        s["jörg@bücher.de"],
        (
            "jörg@bücher.de".to_owned(),
            "Jörg Müller".to_owned(),
            false,
            "user".to_owned()
        )
    );
}

#[tokio::test]
async fn huge_lines_are_refused_with_a_short_reason_and_the_rest_imported() {
    let (_env, ctx) = import_env().await;
    let mb = 1024 * 1024;
    let mut csv = String::from("email,name,admin,files\n");
    csv.push_str(&format!("a@example.org,{},no,user\n", "N".repeat(3 * mb))); // line 2
    csv.push_str(&format!("{}@example.org,B,no,user\n", "b".repeat(2 * mb))); // line 3
    csv.push_str(&format!("c@example.org,C,{},user\n", "y".repeat(2 * mb))); // line 4
    csv.push_str(&format!("d@example.org,D,no,{}\n", "u".repeat(2 * mb))); // line 5
    csv.push_str(&format!("e@example.org,E,no,user{}\n", ",x".repeat(mb))); // line 6
    csv.push_str("ok@example.org,Still Here,yes,admin\n"); // line 7
    assert!(csv.len() < MAX_IMPORT_BYTES);
    let report = import(&ctx, csv.into_bytes()).await.unwrap();
    let lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6]);
    let r = |i: usize| report.errors[i].reason.as_str();
    assert!(r(0).contains("longer than 200 characters"), "{}", r(0));
    assert!(r(1).contains("longer than 254"), "{}", &r(1)[..100]);
    assert!(r(2).contains("is not true or false"), "{}", &r(2)[..100]);
    assert!(
        r(3).contains("column files: role") && r(3).contains("is not one of admin, user, none"),
        "{}",
        &r(3)[..100]
    );
    assert!(
        r(4).contains(&format!("{} cells, but the header has 4 columns", mb + 4)),
        "{}",
        r(4)
    );
    for e in &report.errors {
        assert!(
            e.reason.chars().count() <= 300,
            "line {}: a {}-character reason",
            e.line,
            e.reason.chars().count()
        );
    }
    assert_eq!(report.created, 1);
    assert_eq!(
        stored(&ctx)["ok@example.org"],
        (
            "ok@example.org".to_owned(),
            "Still Here".to_owned(),
            true,
            "admin".to_owned()
        )
    );
    // a header with a monster column is refused whole, briefly
    let bad_header = format!("email,name,{}\n", "z".repeat(2 * mb));
    let msg = import(&ctx, bad_header.into_bytes()).await.unwrap_err();
    assert!(
        msg.contains("neither email, name, admin nor an app slug"),
        "{}",
        &msg[..100]
    );
    assert!(
        msg.chars().count() <= 300,
        "{}-character message",
        msg.len()
    );
}

#[tokio::test]
async fn files_over_the_limit_are_refused_whole_naming_the_limit() {
    let (_env, ctx) = import_env().await;
    assert_eq!(MAX_IMPORT_BYTES, 16 * 1024 * 1024, "the README says 16 MiB");
    // valid rows up to exactly the limit: accepted
    let mut csv = String::from("email,name\n");
    let mut i = 0;
    while csv.len() < MAX_IMPORT_BYTES - 64 {
        csv.push_str(&format!("person{i:07}@example.org,Person Number {i:07}\n"));
        i += 1;
    }
    let pad = MAX_IMPORT_BYTES - csv.len();
    csv.push_str(&"\n".repeat(pad)); // blank lines are skipped
    assert_eq!(csv.len(), MAX_IMPORT_BYTES);
    let plan = ctx
        .service
        .plan_import(csv.clone().into_bytes())
        .await
        .unwrap();
    assert_eq!(plan.valid(), i);
    // one byte more: refused before parsing, nothing stored
    csv.push('\n');
    let msg = import(&ctx, csv.into_bytes()).await.unwrap_err();
    assert!(msg.contains("16 MiB"), "{msg}");
    assert!(
        msg.contains(&format!("{} bytes", MAX_IMPORT_BYTES + 1)),
        "{msg}"
    );
    assert!(msg.contains("split it"), "{msg}");
    assert_eq!(user_count(&ctx), 0);
}

#[tokio::test]
async fn one_hundred_thousand_rows_are_all_stored() {
    let (_env, ctx) = import_env().await;
    let n = 100_000;
    let mut csv = String::from("email,name,admin,files,wiki\n");
    for i in 0..n {
        let role = ["user", "admin", "none", ""][i % 4];
        csv.push_str(&format!(
            "user{i:06}@example.org,Person {i:06} Ünïcode,{},{role},user\n",
            i % 10 == 0
        ));
    }
    let bytes = csv.len();
    let t = Instant::now();
    let plan = ctx.service.plan_import(csv.into_bytes()).await.unwrap();
    let planned = t.elapsed();
    assert_eq!(plan.valid(), n);
    let report = ctx.service.import(plan).await.unwrap();
    let total = t.elapsed();
    eprintln!(
        "100,000-row import ({bytes} bytes): plan {:.1} s, plan + import {:.1} s",
        planned.as_secs_f64(),
        total.as_secs_f64()
    );
    assert_eq!(report.created, n);
    assert!(report.errors.is_empty());
    let s = stored(&ctx);
    assert_eq!(s.len(), n);
    for i in 0..n {
        let role = ["user", "admin", "none", "none"][i % 4];
        let email = format!("user{i:06}@example.org");
        assert_eq!(
            s[&email],
            (
                email.clone(),
                format!("Person {i:06} Ünïcode"),
                i % 10 == 0,
                role.to_owned()
            )
        );
    }
    let marked: i64 = ctx
        .service
        .db()
        .conn()
        .unwrap()
        .query_row(
            "SELECT count(*) FROM app_access WHERE app_slug = 'files' AND status = 'sync_needed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        marked as usize,
        n / 2,
        "user and admin rows of the SCIM app"
    );
    assert_eq!(
        ctx.queue.counts().await.unwrap().0 as usize,
        n / 2,
        "one job per marked pair"
    );
}

#[tokio::test]
async fn formula_cells_are_stored_verbatim_and_there_is_no_csv_export() {
    let env = TestEnv::new(&plain_app("wiki"));
    let ctx = env.context().await;
    let formulas = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)"];
    let mut csv = String::from("email,name\n");
    for (i, f) in formulas.iter().enumerate() {
        csv.push_str(&format!("f{i}@example.org,{}\n", cell(f)));
    }
    // a formula where an address belongs is just a bad address
    csv.push_str("=1+1,Formula Email\n");
    let report = import(&ctx, csv.into_bytes()).await.unwrap();
    assert_eq!(report.created, 4);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, 6);
    let names: Vec<String> = ctx
        .service
        .db()
        .conn()
        .unwrap()
        .prepare("SELECT name FROM users ORDER BY email")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, formulas, "stored as given");
    // Nothing writes CSV: no route serves it, and the CLI prints a table or JSON.
    for (_, path) in accessboard::web::route_table() {
        assert!(
            !path.contains("export") && !path.contains("csv"),
            "{path}: a CSV export must escape formula cells (prefix ' to = + - @)"
        );
    }
    drop(ctx);
    let out = env.cli(&["user", "list", "--json"]);
    assert!(out.status.success(), "{}", app::stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<&str> = json
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    for f in formulas {
        assert!(listed.contains(&f), "{f} listed as stored: {listed:?}");
    }
}

// ---------------------------------------------------------------------------
// The pages: stored exactly and shown escaped, or refused with a message
// ---------------------------------------------------------------------------

enum Want {
    Stored,
    Refused(&'static str),
}

#[actix_web::test]
async fn hostile_names_and_emails_are_stored_exactly_and_shown_escaped_or_refused() {
    let dash = Dash::start().await;
    let b = dash.signed_in().await;
    let long = "x".repeat(10_000);
    let long_email = format!("{}@example.org", "e".repeat(10_000));
    let cases: Vec<(String, String, Want)> = vec![
        // names
        (
            "<script>alert(1)</script>".into(),
            "n1@example.org".into(),
            Want::Stored,
        ),
        (
            r#"O'Brien "Q" & <b>bold</b>"#.into(),
            "n2@example.org".into(),
            Want::Stored,
        ),
        (
            "Bell\u{7}Name".into(),
            "n3@example.org".into(),
            Want::Refused("name contains a control character"),
        ),
        (
            "Nul\u{0}Name".into(),
            "n4@example.org".into(),
            Want::Refused("name contains a control character"),
        ),
        (
            long.clone(),
            "n5@example.org".into(),
            Want::Refused("name is longer than 200 characters"),
        ),
        (
            "\u{202E}evil.exe\u{202C} Ann".into(),
            "n6@example.org".into(),
            Want::Stored,
        ),
        (
            "Zoë 😀👩‍👩‍👧 שלום עליכם".into(),
            "n7@example.org".into(),
            Want::Stored,
        ),
        (
            "=cmd|' /C calc'!A0".into(),
            "n8@example.org".into(),
            Want::Stored,
        ),
        // emails
        (
            "E1".into(),
            "<script>alert(1)</script>@example.org".into(),
            Want::Refused("not allowed in an address"),
        ),
        ("E2".into(), "o'brien+tag@example.org".into(), Want::Stored),
        (
            "E3".into(),
            "\"quoted\"@example.org".into(),
            Want::Refused("not allowed in an address"),
        ),
        (
            "E4".into(),
            "bell\u{7}@example.org".into(),
            Want::Refused("control character"),
        ),
        (
            "E5".into(),
            "nul\u{0}@example.org".into(),
            Want::Refused("control character"),
        ),
        ("E6".into(), long_email, Want::Refused("longer than 254")),
        (
            "E7".into(),
            "ann\u{202E}gro.live@example.org".into(),
            Want::Refused("invisible"),
        ),
        ("E8".into(), "😀@example.org".into(), Want::Stored),
    ];
    for (name, email, want) in &cases {
        let before = dash.sql_i64("SELECT count(*) FROM users");
        b.get("/users/new").await;
        let r = b
            .post(
                "/users/new",
                &[("name", name), ("email", email), ("role.files", "user")],
            )
            .await;
        let short = |s: &str| s.chars().take(40).collect::<String>();
        match want {
            Want::Stored => {
                assert_eq!(
                    r.status,
                    StatusCode::SEE_OTHER,
                    "{:?}: {}",
                    short(name),
                    r.body
                );
                let (got_email, got_name): (String, String) = dash
                    .ctx
                    .service
                    .db()
                    .conn()
                    .unwrap()
                    .query_row(
                        "SELECT email, name FROM users WHERE email_norm = ?1",
                        [email.to_lowercase()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                assert_eq!((&got_email, &got_name), (email, name), "stored exactly");
                let page = b.get(r.header("location")).await;
                assert!(
                    page.body.contains(&format!("value=\"{}\"", esc(name))),
                    "{:?}: the form shows it escaped",
                    short(name)
                );
                let list = b.get("/users").await;
                for shown in [esc(name), esc(email)] {
                    assert!(
                        list.body.contains(&format!("<bdi>{shown}</bdi>")),
                        "/users shows {shown:?} escaped and isolated"
                    );
                }
            }
            Want::Refused(msg) => {
                assert_eq!(
                    r.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{:?}/{:?}",
                    short(name),
                    short(email)
                );
                assert!(
                    r.body.contains(msg),
                    "{:?}/{:?}: no {msg:?} on the page",
                    short(name),
                    short(email)
                );
                assert_eq!(
                    dash.sql_i64("SELECT count(*) FROM users"),
                    before,
                    "nothing stored"
                );
            }
        }
        assert!(!r.body.contains("<script>alert"), "never echoed raw");
    }
    let list = b.get("/users").await;
    assert!(!list.body.contains("<script>alert"));
    assert!(!list.body.contains("<b>bold"));
    assert!(!list.body.contains('\u{0}') && !list.body.contains('\u{7}'));
}

#[actix_web::test]
async fn imported_hostile_names_are_shown_escaped_in_the_preview_and_the_list() {
    let dash = Dash::start().await;
    let b = dash.signed_in().await;
    b.get("/users/import").await;
    let mut csv = String::from("email,name,files\n");
    for (i, n) in HOSTILE_NAMES.iter().enumerate() {
        csv.push_str(&format!("h{i}@example.org,{},user\n", cell(n)));
    }
    let r = b.post("/users/import/preview", &[("csv", &csv)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for n in HOSTILE_NAMES {
        assert!(
            r.body.contains(&format!("<bdi>{}</bdi>", esc(n))),
            "preview of {n:?}"
        );
    }
    assert!(!r.body.contains("<script>alert"));
    let r = b.post("/users/import", &[("csv", &csv)]).await;
    assert!(
        r.body
            .contains(&format!("Created {} people", HOSTILE_NAMES.len())),
        "{}",
        r.body
    );
    let list = b.get("/users").await;
    for (i, n) in HOSTILE_NAMES.iter().enumerate() {
        let stored: String = dash
            .ctx
            .service
            .db()
            .conn()
            .unwrap()
            .query_row(
                "SELECT name FROM users WHERE email = ?1",
                [format!("h{i}@example.org")],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(&stored, n);
        assert!(
            list.body.contains(&format!("<bdi>{}</bdi>", esc(n))),
            "{n:?}"
        );
    }
    assert!(!list.body.contains("<script>alert"));
}

// ---------------------------------------------------------------------------
// Body limits on every POST route
// ---------------------------------------------------------------------------

fn limit_of(path: &str) -> usize {
    if path.starts_with("/users/import") {
        MAX_IMPORT_BYTES + 1024 * 1024
    } else {
        FORM_LIMIT
    }
}

/// A POST over a raw socket, so that a server answering before the body is
/// sent (and closing) is seen as it is: `chunked` streams the body without a
/// Content-Length. Returns the status and the raw answer.
fn raw_post(
    base: &str,
    path: &str,
    cookie: &str,
    csrf: &str,
    body: Vec<u8>,
    chunked: bool,
) -> (u16, String) {
    let addr = base.trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let length = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n{length}\r\nConnection: close\r\n\r\n"
    );
    let mut w = s.try_clone().unwrap();
    // write on another thread: the answer may come (and the socket close) before all is sent
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        w.write_all(head.as_bytes())?;
        for piece in body.chunks(64 * 1024) {
            if chunked {
                w.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                w.write_all(piece)?;
                w.write_all(b"\r\n")?;
            } else {
                w.write_all(piece)?;
            }
        }
        if chunked {
            w.write_all(b"0\r\n\r\n")?;
        }
        Ok(())
    });
    let mut buf = Vec::new();
    let mut piece = [0u8; 16 * 1024];
    loop {
        match s.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&piece[..n]),
            Err(_) => break,
        }
    }
    let _ = writer.join();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{path}: no status in {:?}", &text[..text.len().min(200)]));
    (status, text)
}

/// [`raw_post`] off the test's thread.
async fn post_async(
    base: &str,
    path: &str,
    cookie: &str,
    csrf: &str,
    body: Vec<u8>,
    chunked: bool,
) -> (u16, String) {
    let (base, path, cookie, csrf) = (
        base.to_owned(),
        path.to_owned(),
        cookie.to_owned(),
        csrf.to_owned(),
    );
    actix_web::rt::task::spawn_blocking(move || {
        raw_post(&base, &path, &cookie, &csrf, body, chunked)
    })
    .await
    .unwrap()
}

#[actix_web::test]
async fn every_post_route_refuses_bodies_over_its_limit() {
    let dash = Dash::start().await;
    let b = dash.signed_in().await;
    let victim = dash
        .person("victim@example.org", "Victim", false, &[])
        .await;
    b.get("/users").await;
    let cookie = b.cookie.lock().unwrap().clone().unwrap();
    let csrf = b.csrf.lock().unwrap().clone().unwrap();
    let mut posts: Vec<String> = accessboard::web::route_table()
        .into_iter()
        .filter(|(m, _)| m == actix_web::http::Method::POST)
        .map(|(_, p)| {
            p.replace("{id}", &victim.to_string())
                .replace("{slug}", "files")
        })
        .collect();
    for p in [
        "/login",
        "/setup",
        "/logout",
        "/users/new",
        "/users/import",
        "/apps/files/install",
    ] {
        assert!(posts.iter().any(|x| x == p), "{p} in {posts:?}");
    }
    // signing out last keeps the session for the others
    posts.sort_by_key(|p| p == "/logout");
    for path in &posts {
        let limit = limit_of(path);
        let pad = |len: usize| {
            let head = format!("csrf={csrf}&pad=");
            format!("{head}{}", "x".repeat(len - head.len())).into_bytes()
        };
        for chunked in [false, true] {
            let (status, text) =
                post_async(&dash.base, path, &cookie, &csrf, pad(limit + 1), chunked).await;
            assert_eq!(
                status,
                413,
                "{path} (chunked: {chunked}): {}",
                &text[..text.len().min(300)]
            );
            assert!(text.contains("larger than"), "{path}: {text}");
        }
    }
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users WHERE deleted_at IS NULL"),
        2,
        "no refused request changed anything"
    );
    // at the limit, the body reaches the page (which decides what to do with it)
    for path in &posts {
        let limit = limit_of(path);
        let head = format!("csrf={csrf}&pad=");
        let body = format!("{head}{}", "x".repeat(limit - head.len())).into_bytes();
        let (status, _) = post_async(&dash.base, path, &cookie, &csrf, body, false).await;
        assert_ne!(status, 413, "{path} at its limit");
    }
}

#[actix_web::test]
async fn an_import_just_under_the_stated_limit_goes_through_preview_and_confirm() {
    let dash = Dash::start().await;
    let b = dash.signed_in().await;
    b.get("/users/import").await;
    // close to 16 MiB: 100 good rows, then rows whose names are too long, made
    // of characters that take 4 times the room when URL-encoded ("ß," is %C3%9F%2C)
    let mut csv = String::from("email,name,files\n");
    let n = 100;
    for i in 0..n {
        csv.push_str(&format!("p{i:03}@example.org,\"Pérsön, {i:03}\",user\n"));
    }
    let filler = "ß,".repeat(500);
    let mut k = 0;
    while csv.len() < MAX_IMPORT_BYTES - 2000 {
        csv.push_str(&format!("bad{k}@example.org,\"{filler}\",user\n"));
        k += 1;
    }
    assert!(csv.len() <= MAX_IMPORT_BYTES);
    let boundary = "XyZzY";
    let csrf = b.csrf.lock().unwrap().clone().unwrap();
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let preview = b
        .post_multipart("/users/import/preview", boundary, body)
        .await;
    assert_eq!(
        preview.status,
        StatusCode::OK,
        "{}",
        &preview.body[..preview.body.len().min(500)]
    );
    assert!(
        preview
            .body
            .contains(&format!("{n} people will be created; {k} rows have errors")),
        "{}",
        &preview.body[..preview.body.len().min(2000)]
    );
    // the preview's own form carries the rows back: it must fit the limit too
    let at = preview.body.find("action=\"/users/import\"").unwrap();
    let tag = &preview.body[at..at + preview.body[at..].find('>').unwrap()];
    assert!(
        tag.contains("enctype=\"multipart/form-data\""),
        "the confirm form would re-post {} bytes of CSV URL-encoded, up to 4 times as many: {tag}",
        csv.len()
    );
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let done = b.post_multipart("/users/import", boundary, body).await;
    assert_eq!(
        done.status,
        StatusCode::OK,
        "{}",
        &done.body[..done.body.len().min(500)]
    );
    assert!(done.body.contains(&format!("Created {n} people")));
    assert!(done.body.contains(&format!(
        "Line {}: name is longer than 200 characters",
        n + 2
    )));
    assert_eq!(dash.sql_i64("SELECT count(*) FROM users"), n + 1);
    // over the stated limit: refused, naming it
    let mut big = csv.clone();
    big.push_str(&"\n".repeat(MAX_IMPORT_BYTES + 1 - big.len()));
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n{big}\r\n--{boundary}--\r\n"
    );
    let r = b
        .post_multipart("/users/import/preview", boundary, body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("16 MiB"),
        "{}",
        &r.body[..r.body.len().min(500)]
    );
    // far over it: refused before reading it all, naming it too
    let cookie = b.cookie.lock().unwrap().clone().unwrap();
    let huge = format!("csrf={csrf}&csv={}", "x".repeat(limit_of("/users/import")));
    for chunked in [false, true] {
        let (status, text) = post_async(
            &dash.base,
            "/users/import/preview",
            &cookie,
            &csrf,
            huge.clone().into_bytes(),
            chunked,
        )
        .await;
        assert_eq!(status, 413);
        assert!(text.contains("16 MiB"), "{text}");
    }
}
