//! Hostile input at the dashboard: oversized bodies at every POST route, with and
//! without Content-Length, and an import just under and over the stated limit.

use std::io::{Read, Write};
use std::time::Duration;

use accessboard::users::MAX_IMPORT_BYTES;
use reqwest::StatusCode;

use crate::support::app::TestApp;

/// The dashboard's body limits (private consts of `accessboard::web::csrf`).
const FORM_LIMIT: usize = 64 * 1024;

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
    let dash = TestApp::spawn().await;
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
    let dash = TestApp::spawn().await;
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
