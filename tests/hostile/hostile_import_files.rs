//! Hostile input at the CSV import, by hand: other encodings, huge lines, files
//! over the limit, 100,000 rows and formula cells.

use std::time::Instant;

use accessboard::users::MAX_IMPORT_BYTES;

use crate::support::env::{TestEnv, stderr};
use crate::support::hostile::{cell, import, import_env, stored, user_count};
use crate::support::settings::plain_app;

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
        msg.contains("neither email, name, dashboard_admin, groups nor an app slug"),
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
    let ctx = env.open().await;
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
    assert!(out.status.success(), "{}", stderr(&out));
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
