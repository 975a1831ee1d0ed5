//! Slow clients at the dashboard: a body trickled a byte a second after a complete head
//! (unauthenticated, at `POST /login`) is cut off within the body's time limit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::app::TestApp;

/// `web::csrf::FORM_READ_TIME`.
const FORM_READ_TIME: Duration = Duration::from_secs(10);

#[actix_web::test]
async fn a_body_trickled_a_byte_a_second_is_cut_off_within_the_limit() {
    let dash = TestApp::spawn().await;
    let addr = dash.base.trim_start_matches("http://").to_owned();
    let outcome = actix_web::rt::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let body_len = 4096;
        let head = format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {body_len}\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        // A byte a second, for up to three times the limit, reading whatever comes back.
        while started.elapsed() < FORM_READ_TIME * 3 {
            if s.write_all(b"a").is_err() {
                break;
            }
            let tick = Instant::now();
            let mut closed = false;
            while tick.elapsed() < Duration::from_secs(1) {
                match s.read(&mut buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            // The answer's head is the cut: what follows is the error page and the close.
            if closed || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        (
            started.elapsed(),
            String::from_utf8_lossy(&answer).into_owned(),
        )
    })
    .await
    .unwrap();
    let (took, answer) = outcome;
    assert!(
        took < FORM_READ_TIME + Duration::from_secs(5),
        "the connection was held for {took:?}: {answer}"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
}
