//! Hostile input at the CSV import, generated: random bytes, and files of random
//! good and bad rows checked line by line against what is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};

use crate::support::hostile::{HOSTILE_NAMES, cell, import, import_env, stored, user_count};

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
