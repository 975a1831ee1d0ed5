//! The one dashboard HTTP client: one admin's browser without the browser.
//! Carries the session cookie and the CSRF token of the last page, sends forms
//! as a page or as htmx would; never follows redirects, and gives up on an
//! answer after a minute (so that a hung request fails the test instead of
//! hanging it).

use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Cookies and the CSRF token of one browser.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    /// The session cookie, `name=value`.
    pub cookie: Mutex<Option<String>>,
    /// The device cookie a sign-in leaves, `name=value`.
    pub device: Mutex<Option<String>>,
    pub csrf: Mutex<Option<String>>,
}

/// The CSRF token on a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[i..].split('"').next()?.to_owned())
}

impl Browser {
    /// A browser without a session for the dashboard at `base` (e.g. `http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
            cookie: Mutex::new(None),
            device: Mutex::new(None),
            csrf: Mutex::new(None),
        }
    }

    /// A browser signed in at `base`; panics unless the form, the sign-in and a
    /// signed-in page all answer as they should.
    pub async fn sign_in(base: &str, email: &str, password: &str) -> Browser {
        let b = Browser::new(base);
        let login = b.get("/login").await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        let r = b
            .post("/login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "sign-in refused: {}",
            r.body
        );
        let page = b.get("/users/new").await;
        assert_eq!(page.status, StatusCode::OK, "not signed in: {}", page.body);
        assert!(csrf_in(&page.body).is_some(), "a csrf field on the form");
        b
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let mut req = req;
        let cookies: Vec<String> = [&self.cookie, &self.device]
            .iter()
            .filter_map(|c| c.lock().unwrap().clone())
            .collect();
        if !cookies.is_empty() {
            req = req.header("Cookie", cookies.join("; "));
        }
        let res = req.send().await.expect("request");
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap().to_owned();
            let jar = if pair.contains("accessboard_device=") {
                &self.device
            } else {
                &self.cookie
            };
            *jar.lock().unwrap() = if pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
        }
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        if let Some(t) = csrf_in(&body) {
            *self.csrf.lock().unwrap() = Some(t);
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// A GET as htmx sends it.
    pub async fn get_hx(&self, path: &str) -> Resp {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .header("HX-Request", "true"),
        )
        .await
    }

    /// A form POST with the page's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf.lock().unwrap().clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &token));
        self.post_raw(path, &all, &[]).await
    }

    /// A form POST as htmx sends it: the token in the header.
    pub async fn post_hx(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf.lock().unwrap().clone().unwrap_or_default();
        self.post_raw(
            path,
            fields,
            &[("HX-Request", "true"), ("X-CSRF-Token", &token)],
        )
        .await
    }

    /// A form POST exactly as given.
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        // Built apart: the serializer is not Send, and the browser may run on any task.
        let body = {
            let mut body = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                body.append_pair(k, v);
            }
            body.finish()
        };
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// A multipart POST with a ready body.
    pub async fn post_multipart(&self, path: &str, boundary: &str, body: String) -> Resp {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(req).await
    }

    /// GET /login, then POST it.
    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.get("/login").await;
        self.post("/login", &[("email", email), ("password", password)])
            .await
    }
}

/// GET `path` at `base` without a session, from a fresh browser on a runtime of
/// its own (for tests without one).
pub fn get_blocking(base: &str, path: &str) -> Resp {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async { Browser::new(base).get(path).await })
}
