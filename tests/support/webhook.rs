//! A webhook receiver for the alert tests: a plain HTTP listener on a free loopback port
//! that records every POST, and answers it, or (`hanging`) holds it open unanswered.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request target, e.g. `/hooks/abc`.
    pub path: String,
    /// The body, parsed.
    pub body: Value,
}

/// A listener in a thread; it lives as long as the test process (each on its own port).
pub struct Webhook {
    /// Its port on 127.0.0.1.
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Webhook {
    /// A receiver answering `204 No Content` to every POST.
    pub fn start() -> Webhook {
        Webhook::listen(false)
    }

    /// A receiver that reads each request and never answers, holding the connection.
    pub fn hanging() -> Webhook {
        Webhook::listen(true)
    }

    fn listen(hang: bool) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the webhook listener");
        let port = listener.local_addr().expect("its address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let r = received.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                r.lock().unwrap().push(request);
                if hang {
                    held.push(stream);
                } else {
                    let mut s = stream;
                    let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                }
            }
        });
        Webhook { port, received }
    }

    /// The URL to configure, with `path` (where a real hook keeps its token).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        path,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}
