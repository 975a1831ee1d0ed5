//! The dashboard in process (like zero2prod's `spawn_app`): settings and database
//! in a temporary folder, the HTTP server on a free port, no workers.

use std::net::TcpListener;
use std::sync::Arc;

use accessboard::domain::{DashboardAccess, Email, NewUser, PersonName, Role, Slug};
use accessboard::settings::Settings;
use reqwest::StatusCode;
use uuid::Uuid;

use super::api::{self, Context};
use super::browser::Browser;
use super::settings::SettingsToml;

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery";
/// The viewer of [`TestApp::signed_in_viewer`]: sees every page, changes nothing.
pub const VIEWER_EMAIL: &str = "vic@example.org";
/// Their password.
pub const VIEWER_PASSWORD: &str = "vics long password";

/// A SCIM app `files` (nothing listens there; its URL holds a query secret a page
/// must never show; credentials in the URL itself are refused by the settings) and a
/// plain app `wiki`.
const APPS: &str = r#"
[[apps]]
slug = "files"
name = "Files"
url = "https://files.example.org"

[apps.scim]
base_url = "https://127.0.0.1:9/scim/v2?apikey=topsecret"
auth = "bearer"
token = "tok-never-shown"

[[apps]]
slug = "wiki"
name = "Wiki"
"#;

/// A dashboard with settings, database and server.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub ctx: Context,
    pub base: String,
    pub server: actix_web::dev::ServerHandle,
}

/// The settings of a [`TestApp`] whose database is `db`, with extra `[server]` lines.
pub fn settings(db: &std::path::Path, server_extra: &str) -> SettingsToml {
    SettingsToml::new()
        .server("public_url", "\"http://dash.example.org/\"")
        .lines("server", server_extra)
        .database(db)
        .apps(APPS)
}

/// The dashboard of `ctx` (HTTP, no workers) bound to a free loopback port,
/// not yet running; the port and the server.
fn bind(ctx: &Context) -> (u16, actix_web::dev::Server) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    (port, api::http_server(ctx, listener))
}

/// The dashboard of `ctx` running on the current actix runtime; its port and handle.
fn listen(ctx: &Context) -> (u16, actix_web::dev::ServerHandle) {
    let (port, server) = bind(ctx);
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (port, handle)
}

/// The dashboard alone (HTTP, no workers) for `settings`, on a thread and
/// runtime of its own (for tests without one); its port and handle.
pub fn spawn_detached(settings: Arc<Settings>) -> (u16, actix_web::dev::ServerHandle) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let ctx = api::open(settings).await;
            let (port, server) = bind(&ctx);
            tx.send((port, server.handle())).unwrap();
            let _ = server.await;
            drop(ctx);
        })
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("the dashboard started")
}

impl TestApp {
    /// A fresh dashboard; `files` is installed.
    pub async fn spawn() -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::spawn_in(dir, true).await
    }

    /// A dashboard on the database inside `dir` (kept across restarts).
    pub async fn spawn_in(dir: tempfile::TempDir, install: bool) -> TestApp {
        Self::spawn_with(dir, install, "").await
    }

    /// Same, with extra `[server]` lines.
    pub async fn spawn_with(dir: tempfile::TempDir, install: bool, server_extra: &str) -> TestApp {
        let toml = settings(&dir.path().join("ab.db"), server_extra);
        Self::spawn_toml(dir, install, toml).await
    }

    /// A fresh dashboard with `[auth]` lines (e.g. `require_second_factor = true`).
    pub async fn spawn_with_auth(auth: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let toml = settings(&dir.path().join("ab.db"), "").lines("auth", auth);
        Self::spawn_toml(dir, true, toml).await
    }

    /// A fresh dashboard that sends email through `smtp` (a plain relay) and has
    /// `auth` lines in `[auth]`.
    pub async fn spawn_with_mail(smtp: &super::smtp::SmtpServer, auth: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let toml = settings(&dir.path().join("ab.db"), "")
            .lines("auth", auth)
            .lines("alerts", &smtp.plain_settings());
        Self::spawn_toml(dir, true, toml).await
    }

    /// A fresh dashboard with `[sso]` lines; `files` is installed.
    pub async fn spawn_with_sso(sso: &str) -> TestApp {
        Self::spawn_with_sso_in(tempfile::tempdir().unwrap(), true, sso).await
    }

    /// A dashboard with `[sso]` lines on the database inside `dir` (kept across restarts).
    pub async fn spawn_with_sso_in(dir: tempfile::TempDir, install: bool, sso: &str) -> TestApp {
        let toml = settings(&dir.path().join("ab.db"), "").lines("sso", sso);
        Self::spawn_toml(dir, install, toml).await
    }

    pub async fn spawn_toml(dir: tempfile::TempDir, install: bool, toml: SettingsToml) -> TestApp {
        let text = toml.to_toml();
        let settings = Arc::new(Settings::from_toml(&text).expect("settings"));
        let ctx = api::open(settings).await;
        if install {
            ctx.service
                .install_app(&Slug::parse("files").unwrap())
                .await
                .unwrap();
        }
        let (port, server) = listen(&ctx);
        TestApp {
            dir,
            ctx,
            base: format!("http://127.0.0.1:{port}"),
            server,
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
        self.set_password(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        id
    }

    /// Sets a person's dashboard password.
    pub async fn set_password(&self, email: &str, password: &str) {
        let hash = api::hash_password(password).unwrap();
        self.ctx
            .service
            .set_password_hash(&Email::parse(email).unwrap(), Some(hash))
            .await
            .unwrap();
    }

    /// A browser signed in as a viewer, [`VIEWER_EMAIL`] (created, with the admin too).
    pub async fn signed_in_viewer(&self) -> Browser {
        if self.sql_i64(&format!(
            "SELECT count(*) FROM users WHERE email = '{ADMIN_EMAIL}'"
        )) == 0
        {
            self.admin().await;
        }
        self.person(VIEWER_EMAIL, "Vic Viewer", false, &[]).await;
        self.ctx
            .service
            .set_dashboard(
                &Email::parse(VIEWER_EMAIL).unwrap(),
                DashboardAccess::Viewer,
            )
            .await
            .unwrap();
        self.set_password(VIEWER_EMAIL, VIEWER_PASSWORD).await;
        let b = self.browser();
        let r = b.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login failed: {}", r.body);
        b
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
                dashboard: if admin {
                    DashboardAccess::Admin
                } else {
                    DashboardAccess::None
                },
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
