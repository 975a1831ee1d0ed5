//! Hostile input at the pages: HTML, control characters, bidi overrides, emoji and
//! 10,000-character names, typed in or imported. Each is stored exactly and
//! shown escaped, or refused with a message.

use reqwest::StatusCode;

use crate::support::app::TestApp;
use crate::support::hostile::{HOSTILE_NAMES, cell};

/// HTML-escaped as maud escapes text and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

enum Want {
    Stored,
    Refused(&'static str),
}

#[actix_web::test]
async fn hostile_names_and_emails_are_stored_exactly_and_shown_escaped_or_refused() {
    let dash = TestApp::spawn().await;
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
    let dash = TestApp::spawn().await;
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
