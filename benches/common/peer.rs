//! The null SCIM peer: answers the calls a reconcile makes with canned bodies and stores nothing.
//!
//! It runs as a separate process (the bench binary re-executed with `PEER_PORT` set), so its
//! CPU time is measured apart from `serve`'s and the two can be compared.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, http::Method, web};
use serde_json::{Value, json};

/// Set to a port (0 = any) to make the bench binary act as the peer.
pub const ENV_PORT: &str = "PEER_PORT";
/// Worker threads of the peer (default 1).
pub const ENV_WORKERS: &str = "PEER_WORKERS";
/// Accounts `GET /Users` answers, all at once whatever `count` asks, as Nextcloud does (default 0).
pub const ENV_LISTING: &str = "PEER_LISTING";
/// Set to keep the accounts it is sent (and list them in pages), as a real app does.
pub const ENV_KEEP: &str = "PEER_KEEP";
/// The bearer token the peer is configured with (it does not check it).
pub const TOKEN: &str = "bench-token";

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const SCIM_JSON: &str = "application/scim+json";

/// Call first thing in a bench's `main`: when `PEER_PORT` is set, serve as the peer and never return.
pub fn run_if_peer() {
    let Ok(port) = std::env::var(ENV_PORT) else {
        return;
    };
    let port: u16 = port.parse().expect("PEER_PORT is a port number");
    let workers: usize = std::env::var(ENV_WORKERS)
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let result = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| App::new().default_service(web::to(handle)))
            .workers(workers)
            .backlog(1024)
            .bind(("127.0.0.1", port))?;
        let bound = server.addrs()[0].port();
        // The parent reads this line to learn the port.
        println!("listening {bound}");
        server.run().await
    });
    if let Err(e) = result {
        eprintln!("null peer: {e}");
        std::process::exit(1);
    }
    std::process::exit(0);
}

/// A running peer process; killed on drop.
pub struct Peer {
    pub child: Child,
    pub port: u16,
}

impl Peer {
    /// Re-executes this bench binary as the peer and waits for its port.
    pub fn spawn() -> Peer {
        Self::spawn_listing(0)
    }

    /// A peer whose `GET /Users` answers `accounts` accounts in one listing.
    pub fn spawn_listing(accounts: usize) -> Peer {
        Self::spawn_with(&[(ENV_LISTING, &accounts.to_string())])
    }

    /// A peer that keeps the accounts it is sent; `GET /__requests` says how many reads
    /// and writes it answered.
    pub fn spawn_keeping() -> Peer {
        Self::spawn_with(&[(ENV_KEEP, "1"), (ENV_WORKERS, "2")])
    }

    fn spawn_with(envs: &[(&str, &str)]) -> Peer {
        let exe = std::env::current_exe().expect("the bench binary's path");
        let mut child = Command::new(exe)
            .env(ENV_PORT, "0")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the null peer");
        let stdout = child.stdout.take().expect("peer stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the peer's port");
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the null peer said {line:?}"));
        Peer { child, port }
    }

    /// The SCIM base URL.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        super::env::terminate(&mut self.child, Duration::from_secs(5));
    }
}

fn scim(status: actix_web::http::StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_JSON)
        .body(body.to_string())
}

fn empty_list() -> HttpResponse {
    scim(
        actix_web::http::StatusCode::OK,
        &json!({"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}),
    )
}

fn not_found() -> HttpResponse {
    scim(
        actix_web::http::StatusCode::NOT_FOUND,
        &json!({"schemas": [ERROR], "status": "404", "detail": "no such resource"}),
    )
}

fn with_id(body: &[u8], id: &str, schema: &str) -> Value {
    let mut v: Value = serde_json::from_slice(body).unwrap_or_else(|_| json!({}));
    if !v.is_object() {
        v = json!({});
    }
    v["id"] = json!(id);
    v["schemas"] = json!([schema]);
    v["meta"] = json!({"resourceType": if schema == USER { "User" } else { "Group" }});
    v
}

async fn handle(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if std::env::var_os(ENV_KEEP).is_some() {
        return keeping::handle(&req, &body);
    }
    use actix_web::http::StatusCode;
    let segments: Vec<&str> = req.path().split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method().clone();
    match (method, segments.as_slice()) {
        (Method::GET, ["ServiceProviderConfig"]) => scim(
            StatusCode::OK,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": true},
                "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": true, "maxResults": 200},
                "changePassword": {"supported": false},
                "sort": {"supported": false},
                "etag": {"supported": false},
                "authenticationSchemes": []
            }),
        ),
        (Method::GET, ["Users"]) if req.query_string().contains("filter=") => empty_list(),
        (Method::GET, ["Users"]) => match listing() {
            Some(body) => HttpResponse::Ok()
                .content_type(SCIM_JSON)
                .body(body.clone()),
            None => empty_list(),
        },
        (Method::GET, ["Groups"]) => empty_list(),
        (Method::POST, ["Users"]) => {
            let id = uuid::Uuid::new_v4().to_string();
            scim(StatusCode::CREATED, &with_id(&body, &id, USER))
        }
        (Method::POST, ["Groups"]) => {
            let id = uuid::Uuid::new_v4().to_string();
            scim(StatusCode::CREATED, &with_id(&body, &id, GROUP))
        }
        (Method::PUT, ["Users", id]) => scim(StatusCode::OK, &with_id(&body, id, USER)),
        (Method::PUT, ["Groups", id]) => scim(StatusCode::OK, &with_id(&body, id, GROUP)),
        (Method::PATCH, ["Users", id]) => scim(
            StatusCode::OK,
            &json!({"schemas": [USER], "id": id, "userName": "unknown", "active": false}),
        ),
        (Method::PATCH, ["Groups", id]) => scim(
            StatusCode::OK,
            &json!({"schemas": [GROUP], "id": id, "displayName": "unknown"}),
        ),
        (Method::DELETE, ["Users", _]) | (Method::DELETE, ["Groups", _]) => {
            HttpResponse::NoContent().finish()
        }
        // The peer remembers nothing, so an account looked up by id is gone.
        _ => not_found(),
    }
}

/// The whole `GET /Users` answer of a peer with `PEER_LISTING` accounts, made once:
/// accounts shaped like Nextcloud's (about 700 bytes each, `null` where it has nothing).
fn listing() -> Option<&'static web::Bytes> {
    static BODY: std::sync::OnceLock<Option<web::Bytes>> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let n: usize = std::env::var(ENV_LISTING).ok()?.parse().ok()?;
        let accounts: Vec<Value> = (0..n)
            .map(|i| {
                json!({"schemas": [USER], "id": format!("user{i}"), "externalId": "",
                    "userName": format!("user{i}"), "displayName": format!("Listed Person {i}"),
                    "name": {"formatted": format!("Listed Person {i}"), "familyName": null, "givenName": null,
                        "middleName": null, "honorificPrefix": null, "honorificSuffix": null},
                    "emails": [{"value": format!("user{i}@listed.example.org"), "primary": true, "type": null,
                        "display": null, "$ref": null}],
                    "active": true, "nickName": null, "profileUrl": null, "title": null, "userType": null,
                    "preferredLanguage": null, "locale": null, "timezone": null, "password": null,
                    "phoneNumbers": null, "ims": null, "photos": null, "addresses": null, "groups": null,
                    "entitlements": null, "roles": null, "x509Certificates": null,
                    "meta": {"resourceType": "User", "created": null, "lastModified": null,
                        "location": format!("https://cloud.example.org/index.php/apps/scimserviceprovider/Users/user{i}")}})
            })
            .collect();
        let body = json!({"schemas": [LIST], "totalResults": n, "startIndex": 1,
            "itemsPerPage": n, "Resources": accounts});
        Some(web::Bytes::from(body.to_string()))
    })
    .as_ref()
}

/// The peer that keeps its accounts: POST, GET by id, PUT, and listings in pages.
mod keeping {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    use actix_web::http::{Method, StatusCode};
    use actix_web::{HttpRequest, HttpResponse};
    use serde_json::{Value, json};

    use super::{LIST, USER, empty_list, not_found, scim, with_id};

    static READS: AtomicU64 = AtomicU64::new(0);
    static WRITES: AtomicU64 = AtomicU64::new(0);

    #[derive(Default)]
    struct Store {
        users: Vec<Value>,
        by_id: HashMap<String, usize>,
    }

    fn store() -> &'static Mutex<Store> {
        static STORE: std::sync::OnceLock<Mutex<Store>> = std::sync::OnceLock::new();
        STORE.get_or_init(|| Mutex::new(Store::default()))
    }

    fn query(req: &HttpRequest, key: &str) -> Option<usize> {
        req.query_string()
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
    }

    pub fn handle(req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let segments: Vec<&str> = req.path().split('/').filter(|s| !s.is_empty()).collect();
        let method = req.method().clone();
        if segments.as_slice() == ["__requests"] {
            return HttpResponse::Ok().json(json!({
                "reads": READS.load(Ordering::SeqCst), "writes": WRITES.load(Ordering::SeqCst)}));
        }
        if method == Method::GET {
            READS.fetch_add(1, Ordering::SeqCst);
        } else {
            WRITES.fetch_add(1, Ordering::SeqCst);
        }
        let mut store = store().lock().unwrap_or_else(|p| p.into_inner());
        match (method, segments.as_slice()) {
            (Method::GET, ["ServiceProviderConfig"]) => scim(
                StatusCode::OK,
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    "patch": {"supported": true}, "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
                    "filter": {"supported": true, "maxResults": 200}, "changePassword": {"supported": false},
                    "sort": {"supported": false}, "etag": {"supported": false}, "authenticationSchemes": []}),
            ),
            (Method::GET, ["Users"]) if req.query_string().contains("filter=") => empty_list(),
            (Method::GET, ["Users"]) => {
                let start = query(req, "startIndex").unwrap_or(1).max(1);
                let count = query(req, "count").unwrap_or(200).min(200);
                let page: Vec<&Value> = store.users.iter().skip(start - 1).take(count).collect();
                scim(
                    StatusCode::OK,
                    &json!({"schemas": [LIST], "totalResults": store.users.len(), "startIndex": start,
                        "itemsPerPage": page.len(), "Resources": page}),
                )
            }
            (Method::GET, ["Groups"]) => empty_list(),
            (Method::POST, ["Users"]) => {
                let id = uuid::Uuid::new_v4().to_string();
                let user = with_id(body, &id, USER);
                let at = store.users.len();
                store.by_id.insert(id, at);
                store.users.push(user.clone());
                scim(StatusCode::CREATED, &user)
            }
            (Method::GET, ["Users", id]) => match store.by_id.get(*id) {
                Some(&i) => scim(StatusCode::OK, &store.users[i]),
                None => not_found(),
            },
            (Method::PUT, ["Users", id]) => match store.by_id.get(*id).copied() {
                Some(i) => {
                    let user = with_id(body, id, USER);
                    store.users[i] = user.clone();
                    scim(StatusCode::OK, &user)
                }
                None => not_found(),
            },
            _ => not_found(),
        }
    }
}
