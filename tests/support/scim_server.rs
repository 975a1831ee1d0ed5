//! A real SCIM server for tests: scim2-server (PyPI) in a venv under target/, one process
//! per test; or one of the dialect stand-ins of `tests/standins/` built on it (Nextcloud,
//! Zulip, django-scim2 groups), or a real Django one (`real_apps.rs`), started the same way.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::net::free_port;

const STANDIN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/standins/dialect_server.py"
);
const DEFAULT_TOKEN: &str = "test-token-s3cr3t";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A running scim2-server; killed on drop.
pub struct ScimServer {
    child: Child,
    port: u16,
    token: String,
    // Keeps the config file and the log alive as long as the server.
    dir: tempfile::TempDir,
    // Zulip answers 501 to /ServiceProviderConfig: stand-ins have their own probe.
    ready_path: &'static str,
    // Where SCIM is served: "" (the root), or `/scim/v2` for the real Django servers.
    base_path: &'static str,
    // Log lines from before the test's first request (banner, ready probes).
    skip: usize,
}

/// Options for [`ScimServer`].
pub struct ScimServerBuilder {
    token: String,
    service_provider_config: Option<Value>,
    dialect: Option<String>,
    real: Option<String>,
    args: Vec<String>,
}

/// A ServiceProviderConfig announcing neither filtering nor PATCH, and pages of two.
pub fn bare_service_provider_config() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": false},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        // maxResults caps every page, so a client that does not page misses accounts.
        "filter": {"supported": false, "maxResults": 2},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": []
    })
}

impl ScimServerBuilder {
    /// The bearer token the server accepts.
    pub fn bearer_token(mut self, token: &str) -> Self {
        self.token = token.to_owned();
        self
    }

    /// The ServiceProviderConfig the server announces (and obeys: 501 for filter/PATCH when off).
    pub fn service_provider_config(mut self, config: Value) -> Self {
        self.service_provider_config = Some(config);
        self
    }

    /// A stand-in for a real app instead of plain scim2-server: `nextcloud`, `zulip`,
    /// `django-groups` or `generic` (see `tests/standins/README.md`).
    pub fn dialect(mut self, name: &str) -> Self {
        self.dialect = Some(name.to_owned());
        self
    }

    /// A real SCIM server from PyPI instead: `django-scim2` or `django-scim2-server`
    /// (`real_apps.rs`), served at `/scim/v2` (see `base_url`).
    pub fn real(mut self, app: &str) -> Self {
        self.real = Some(app.to_owned());
        self
    }

    /// One more command-line argument for the stand-in or real server (`--member-removal`).
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Starts the server and waits until it answers.
    pub fn start(self) -> ScimServer {
        // scim2-server 0.8.3 and what the stand-ins need, pinned.
        let venv = || super::standins::ensure_venv("scim2-venv", "requirements.txt");
        let mut last_log = String::new();
        let (ready_path, base_path) =
            super::real_apps::paths(self.real.is_some(), self.dialect.is_some());
        // Another process may grab the port between our probe and the server's bind; try again then.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temp dir for scim2-server");
            let port = free_port();
            let log_path = dir.path().join("server.log");
            let log = File::create(&log_path).expect("scim2-server log file");
            let mut cmd = match (&self.real, &self.dialect) {
                (Some(app), _) => super::real_apps::command(app, dir.path(), &self.args),
                (None, Some(d)) => {
                    let mut c = Command::new(venv().join("bin").join("python"));
                    c.arg(STANDIN).args(["--dialect", d]).args(&self.args);
                    c
                }
                (None, None) => Command::new(venv().join("bin").join("scim2-server")),
            };
            cmd.args([
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                &self.token,
            ]);
            if let Some(spc) = &self.service_provider_config {
                let path = dir.path().join("spc.json");
                std::fs::write(&path, spc.to_string()).expect("write ServiceProviderConfig");
                cmd.arg("--service-provider-config").arg(&path);
            }
            cmd.stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log);
            let child = cmd.spawn().expect("spawn scim2-server");
            let mut server = ScimServer {
                child,
                port,
                token: self.token.clone(),
                dir,
                ready_path,
                base_path,
                skip: 0,
            };
            if server.wait_ready(Duration::from_secs(20)) {
                // The ready probe's own access line is not a request of the test.
                std::thread::sleep(Duration::from_millis(100));
                server.skip = server.log().lines().count();
                return server;
            }
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let _ = server.child.kill();
        }
        panic!("scim2-server did not start; its log:\n{last_log}");
    }
}

impl ScimServer {
    /// A server with every feature announced and the default token.
    pub fn start() -> ScimServer {
        ScimServer::builder().start()
    }

    /// A server announcing no filter and no PATCH (it answers 501 to both), with pages of two.
    pub fn start_bare() -> ScimServer {
        ScimServer::builder()
            .service_provider_config(bare_service_provider_config())
            .start()
    }

    /// Options before starting.
    pub fn builder() -> ScimServerBuilder {
        ScimServerBuilder {
            token: DEFAULT_TOKEN.to_owned(),
            service_provider_config: None,
            dialect: None,
            real: None,
            args: Vec::new(),
        }
    }

    /// e.g. `http://127.0.0.1:40123` (`.../scim/v2` for a real Django server).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.base_path)
    }

    /// The bearer token it accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Every user, read over HTTP (paged, so capped pages are complete).
    pub fn users(&self) -> Vec<Value> {
        self.list("/Users")
    }

    /// How many accounts the server holds disabled (`active: false`).
    pub fn inactive_users(&self) -> usize {
        self.users().iter().filter(|u| u["active"] == false).count()
    }

    /// The accounts with this email, as userName or in `emails`, ignoring case.
    pub fn accounts_with_email(&self, email: &str) -> Vec<Value> {
        self.users()
            .into_iter()
            .filter(|u| {
                u["userName"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(email))
                    || u["emails"].as_array().is_some_and(|es| {
                        es.iter().any(|e| {
                            e["value"]
                                .as_str()
                                .is_some_and(|v| v.eq_ignore_ascii_case(email))
                        })
                    })
            })
            .collect()
    }

    /// Every user by lower-cased userName (two under one name are a duplicate).
    pub fn accounts_by_user_name(&self) -> BTreeMap<String, Vec<Value>> {
        let mut by: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for u in self.users() {
            let name = u["userName"].as_str().unwrap_or_default().to_lowercase();
            by.entry(name).or_default().push(u);
        }
        by
    }

    /// Every group.
    pub fn groups(&self) -> Vec<Value> {
        self.list("/Groups")
    }

    /// One user by id, or None.
    pub fn user(&self, id: &str) -> Option<Value> {
        let (status, body) = self.request("GET", &format!("/Users/{id}"), None);
        (status == 200).then_some(body)
    }

    /// The member ids of the group with this displayName (empty when there is no such group).
    pub fn group_members(&self, display_name: &str) -> Vec<String> {
        self.groups()
            .into_iter()
            .find(|g| g["displayName"] == display_name)
            .and_then(|g| g["members"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m["value"].as_str().map(str::to_owned))
            .collect()
    }

    /// Seeds a user (e.g. an account made before provisioning); returns it as created.
    pub fn create_user(&self, mut user: Value) -> Value {
        if user.get("schemas").is_none() {
            user["schemas"] = json!([USER_SCHEMA]);
        }
        let (status, body) = self.request("POST", "/Users", Some(&user));
        assert_eq!(status, 201, "seeding a user failed: {body}");
        body
    }

    /// Seeds a group with these member ids; returns it as created.
    pub fn create_group(&self, display_name: &str, member_ids: &[&str]) -> Value {
        let members: Vec<Value> = member_ids.iter().map(|id| json!({"value": id})).collect();
        let group =
            json!({"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": members});
        let (status, body) = self.request("POST", "/Groups", Some(&group));
        assert_eq!(status, 201, "seeding a group failed: {body}");
        body
    }

    /// Replaces a user as an app admin would (e.g. renaming inside the app).
    pub fn replace_user(&self, id: &str, user: &Value) -> Value {
        let (status, body) = self.request("PUT", &format!("/Users/{id}"), Some(user));
        assert_eq!(status, 200, "replacing a user failed: {body}");
        body
    }

    /// Deletes a user behind accessboard's back.
    pub fn delete_user(&self, id: &str) {
        let (status, body) = self.request("DELETE", &format!("/Users/{id}"), None);
        assert_eq!(status, 204, "deleting a user failed: {body}");
    }

    fn list(&self, path: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut start = 1;
        loop {
            let (status, body) =
                self.request("GET", &format!("{path}?startIndex={start}&count=100"), None);
            assert_eq!(status, 200, "listing {path} failed: {body}");
            let page = body["Resources"].as_array().cloned().unwrap_or_default();
            let total = body["totalResults"].as_u64().unwrap_or(0) as usize;
            start += page.len();
            let empty = page.is_empty();
            all.extend(page);
            if empty || all.len() >= total {
                return all;
            }
        }
    }

    /// One HTTP/1.1 exchange with `Connection: close`, the path under `base_url`; returns
    /// status and JSON body (Null if none). Marked as the harness's (`X-Standin-Harness`),
    /// which a stand-in's `--rate-limit` leaves out.
    pub fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to scim2-server");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        // application/json: every server takes it, and Nextcloud up to 25 takes only it.
        let request = format!(
            "{method} {}{path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\n\
             Accept: application/scim+json\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             X-Standin-Harness: 1\r\nConnection: close\r\n\r\n{payload}",
            self.base_path,
            self.port,
            self.token,
            payload.len()
        );
        stream.write_all(request.as_bytes()).expect("send request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read answer");
        parse_response(&raw)
    }

    /// Everything the server wrote (its access log among it).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The access-log lines of the requests made since it was ready, once the log stopped
    /// growing (a server writes its line after answering).
    pub fn log_lines(&self) -> Vec<String> {
        let mut last = self.log();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(150));
            let now = self.log();
            if now == last {
                break;
            }
            last = now;
        }
        last.lines()
            .skip(self.skip)
            .filter(|l| l.contains("\" ") && l.contains(" HTTP/1."))
            .map(str::to_owned)
            .collect()
    }

    /// Requests that changed an account (PATCH, PUT or DELETE on `/Users/id`) after the
    /// first `from` access-log lines.
    pub fn account_writes_since(&self, from: usize) -> usize {
        self.requests_since(from)
            .iter()
            .filter(|(k, _)| {
                k.starts_with("PATCH /Users")
                    || k.starts_with("PUT /Users")
                    || k.starts_with("DELETE /Users")
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests the server answered after the first `from` access-log lines, counted by
    /// `METHOD /Users` (a listing), `METHOD /Users?filter` or `METHOD /Users/id` (and the
    /// same for `/Groups`); discovery and anything else is left out.
    pub fn requests_since(&self, from: usize) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        for line in self.log_lines().iter().skip(from) {
            let Some(request) = line.split('"').nth(1) else {
                continue;
            };
            let mut parts = request.split(' ');
            let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
                continue;
            };
            let path = target.split('?').next().unwrap_or(target);
            let Some(collection) = path.split('/').find(|s| matches!(*s, "Users" | "Groups"))
            else {
                continue;
            };
            let key = match (target.contains("filter="), path.ends_with(collection)) {
                (true, _) => format!("{method} /{collection}?filter"),
                (false, true) => format!("{method} /{collection}"),
                (false, false) => format!("{method} /{collection}/id"),
            };
            *seen.entry(key).or_default() += 1;
        }
        seen
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let probe = format!(
                    "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
                    self.ready_path, self.token
                );
                let mut raw = Vec::new();
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                if s.write_all(probe.as_bytes()).is_ok()
                    && s.read_to_end(&mut raw).is_ok()
                    && parse_response(&raw).0 == 200
                {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
