//! A real dashboard on port 0 with a throwaway database, and a tiny browser
//! (cookie jar, CSRF token, htmx header) to drive it.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use accessboard::cli::Context;
use accessboard::domain::{Email, NewUser, PersonName, Role, Slug};
use accessboard::settings::Settings;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// A dashboard with settings, database and server.
pub struct Dash {
    pub dir: tempfile::TempDir,
    pub ctx: Context,
    pub base: String,
    pub server: actix_web::dev::ServerHandle,
}

/// Settings with a SCIM app `files` (nothing listens there) and a plain app `wiki`.
pub fn settings_text(db: &std::path::Path, server_extra: &str) -> String {
    format!(
        r#"
[server]
bind = "127.0.0.1:0"
public_url = "http://dash.example.org/"
{server_extra}

[database]
path = "{}"

[[apps]]
slug = "files"
name = "Files"
url = "https://files.example.org"

[apps.scim]
base_url = "https://svc:hunter2@127.0.0.1:9/scim/v2?apikey=topsecret"
auth = "bearer"
token = "tok-never-shown"

[[apps]]
slug = "wiki"
name = "Wiki"
"#,
        db.display()
    )
}

impl Dash {
    /// A fresh dashboard; `files` is installed.
    pub async fn start() -> Dash {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, true).await
    }

    /// A dashboard on the database inside `dir` (kept across restarts).
    pub async fn start_in(dir: tempfile::TempDir, install: bool) -> Dash {
        Self::start_with(dir, install, "").await
    }

    /// Same, with extra `[server]` keys.
    pub async fn start_with(dir: tempfile::TempDir, install: bool, server_extra: &str) -> Dash {
        let text = settings_text(&dir.path().join("ab.db"), server_extra);
        let settings = Arc::new(Settings::from_toml(&text).expect("settings"));
        let ctx = match Context::open(settings).await {
            Ok(c) => c,
            Err(e) => panic!("context: {}", e.message),
        };
        if install {
            ctx.service
                .install_app(&Slug::parse("files").unwrap())
                .await
                .unwrap();
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = accessboard::startup::http_server(&ctx, listener).expect("server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Dash {
            dir,
            ctx,
            base: format!("http://127.0.0.1:{port}"),
            server: handle,
        }
    }

    /// Stops the server and hands back the folder (to start again on the same database).
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.stop(false).await;
        self.dir
    }

    /// A browser without a session.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// Creates the dashboard admin.
    pub async fn admin(&self) -> Uuid {
        let id = self.person(ADMIN_EMAIL, "Ada Admin", true, &[]).await;
        let hash = accessboard::web::auth::hash_password(ADMIN_PASSWORD).unwrap();
        self.ctx
            .service
            .set_password_hash(&Email::parse(ADMIN_EMAIL).unwrap(), Some(hash))
            .await
            .unwrap();
        id
    }

    /// A browser signed in as the admin (created when missing).
    pub async fn signed_in(&self) -> Browser {
        if self.sql_i64(&format!(
            "SELECT count(*) FROM users WHERE email = '{ADMIN_EMAIL}'"
        )) == 0
        {
            self.admin().await;
        }
        let b = self.browser();
        let r = b.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login failed: {}", r.body);
        b
    }

    /// Creates a person through the service.
    pub async fn person(
        &self,
        email: &str,
        name: &str,
        admin: bool,
        access: &[(&str, Role)],
    ) -> Uuid {
        let user = self
            .ctx
            .service
            .create_user(NewUser {
                email: Email::parse(email).unwrap(),
                name: PersonName::parse(name).unwrap(),
                is_admin: admin,
                access: access
                    .iter()
                    .map(|(s, r)| (Slug::parse(s).unwrap(), *r))
                    .collect(),
            })
            .await
            .unwrap();
        user.id
    }

    /// Runs SQL on the database (test set-up: statuses, log rows).
    pub fn sql(&self, sql: &str) {
        self.ctx
            .service
            .db()
            .conn()
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    /// One integer from SQL.
    pub fn sql_i64(&self, sql: &str) -> i64 {
        self.ctx
            .service
            .db()
            .conn()
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
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
    pub cookie: Mutex<Option<String>>,
    pub csrf: Mutex<Option<String>>,
}

/// The CSRF token on a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[i..].split('"').next()?.to_owned())
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: Mutex::new(None),
            csrf: Mutex::new(None),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let mut req = req;
        if let Some(c) = self.cookie.lock().unwrap().clone() {
            req = req.header("Cookie", c);
        }
        let res = req.send().await.expect("request");
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap().to_owned();
            if pair.ends_with('=') {
                *self.cookie.lock().unwrap() = None;
            } else {
                *self.cookie.lock().unwrap() = Some(pair);
            }
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
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.finish());
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
