//! A small Kratos Admin API for tests, after Ory's published OpenAPI for the
//! identity endpoints: status codes, the `Link` pagination header, error bodies.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Default)]
struct State {
    identities: Mutex<BTreeMap<Uuid, Value>>,
    down: AtomicBool,
    list_requests: AtomicUsize,
    max_page_size: AtomicUsize,
}

/// A running fake Kratos on a loopback port.
pub struct FakeKratos {
    pub port: u16,
    state: Arc<State>,
}

fn error(code: u16, status: &str, reason: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).json(json!({
        "error": { "code": code, "status": status, "reason": reason, "message": message }
    }))
}

fn not_found() -> HttpResponse {
    error(
        404,
        "Not Found",
        "Unable to locate the resource",
        "The requested resource could not be found",
    )
}

fn conflict() -> HttpResponse {
    error(
        409,
        "Conflict",
        "This identity conflicts with another identity that already exists.",
        "The resource could not be created due to a conflict",
    )
}

fn identity(id: Uuid, schema_id: &str, traits: Value) -> Value {
    json!({
        "id": id,
        "schema_id": schema_id,
        "schema_url": format!("http://kratos.test/schemas/{schema_id}"),
        "state": "active",
        "traits": traits,
        "metadata_public": null,
        "created_at": "2026-11-28T10:00:00Z",
        "updated_at": "2026-11-28T10:00:00Z",
    })
}

fn email_taken(all: &BTreeMap<Uuid, Value>, email: &str, except: Option<Uuid>) -> bool {
    all.iter().any(|(id, v)| {
        Some(*id) != except
            && v["traits"]["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
    })
}

async fn list(req: HttpRequest, s: web::Data<State>) -> HttpResponse {
    s.list_requests.fetch_add(1, Ordering::SeqCst);
    let q: BTreeMap<String, String> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let cap = s.max_page_size.load(Ordering::SeqCst);
    let size = q
        .get("page_size")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(250)
        .clamp(1, cap);
    let all = s.identities.lock().unwrap();
    let after: Option<Uuid> = q.get("page_token").and_then(|t| Uuid::parse_str(t).ok());
    let page: Vec<Value> = all
        .iter()
        .filter(|(id, _)| after.is_none_or(|a| **id > a))
        .take(size)
        .map(|(_, v)| v.clone())
        .collect();
    let host = req.connection_info().host().to_owned();
    let mut link =
        format!("<http://{host}/admin/identities?page_size={size}&page_token=>; rel=\"first\"");
    if let Some(last) = page.last().and_then(|v| v["id"].as_str())
        && all
            .keys()
            .any(|id| Uuid::parse_str(last).is_ok_and(|l| *id > l))
    {
        link.push_str(&format!(
            ",<http://{host}/admin/identities?page_size={size}&page_token={last}>; rel=\"next\""
        ));
    }
    HttpResponse::Ok().insert_header(("Link", link)).json(page)
}

async fn get(path: web::Path<String>, s: web::Data<State>) -> HttpResponse {
    let Ok(id) = Uuid::parse_str(&path) else {
        return not_found();
    };
    match s.identities.lock().unwrap().get(&id) {
        Some(v) => HttpResponse::Ok().json(v),
        None => not_found(),
    }
}

async fn create(body: web::Json<Value>, s: web::Data<State>) -> HttpResponse {
    let Some(schema_id) = body["schema_id"].as_str() else {
        return error(
            400,
            "Bad Request",
            "schema_id is required",
            "The request was malformed or contained invalid parameters",
        );
    };
    let Some(email) = body["traits"]["email"].as_str() else {
        return error(
            400,
            "Bad Request",
            "I[#/traits] missing properties: \"email\"",
            "The request was malformed or contained invalid parameters",
        );
    };
    let mut all = s.identities.lock().unwrap();
    if email_taken(&all, email, None) {
        return conflict();
    }
    let id = Uuid::new_v4();
    let v = identity(id, schema_id, body["traits"].clone());
    all.insert(id, v.clone());
    HttpResponse::Created().json(v)
}

async fn patch(
    path: web::Path<String>,
    body: web::Json<Value>,
    s: web::Data<State>,
) -> HttpResponse {
    let Ok(id) = Uuid::parse_str(&path) else {
        return not_found();
    };
    let mut all = s.identities.lock().unwrap();
    let Some(mut v) = all.get(&id).cloned() else {
        return not_found();
    };
    for op in body.as_array().cloned().unwrap_or_default() {
        let (Some(kind), Some(p)) = (op["op"].as_str(), op["path"].as_str()) else {
            return error(
                400,
                "Bad Request",
                "invalid patch",
                "The request was malformed or contained invalid parameters",
            );
        };
        let Some(key) = p.strip_prefix("/traits/") else {
            return error(
                400,
                "Bad Request",
                "only traits can be patched here",
                "The request was malformed or contained invalid parameters",
            );
        };
        match kind {
            "add" | "replace" => v["traits"][key] = op["value"].clone(),
            "remove" => {
                if let Some(o) = v["traits"].as_object_mut() {
                    o.remove(key);
                }
            }
            _ => {
                return error(
                    400,
                    "Bad Request",
                    "unsupported op",
                    "The request was malformed or contained invalid parameters",
                );
            }
        }
    }
    if let Some(email) = v["traits"]["email"].as_str()
        && email_taken(&all, email, Some(id))
    {
        return conflict();
    }
    all.insert(id, v.clone());
    HttpResponse::Ok().json(v)
}

async fn delete(path: web::Path<String>, s: web::Data<State>) -> HttpResponse {
    let Ok(id) = Uuid::parse_str(&path) else {
        return not_found();
    };
    match s.identities.lock().unwrap().remove(&id) {
        Some(_) => HttpResponse::NoContent().finish(),
        None => not_found(),
    }
}

async fn recovery(body: web::Json<Value>, s: web::Data<State>) -> HttpResponse {
    let Some(id) = body["identity_id"]
        .as_str()
        .and_then(|i| Uuid::parse_str(i).ok())
    else {
        return error(
            400,
            "Bad Request",
            "identity_id is required",
            "The request was malformed or contained invalid parameters",
        );
    };
    if !s.identities.lock().unwrap().contains_key(&id) {
        return not_found();
    }
    HttpResponse::Ok().json(json!({
        "recovery_link": format!("http://kratos.test/self-service/recovery?flow={}&token={}", Uuid::new_v4(), Uuid::new_v4().simple()),
        "expires_at": "2026-11-29T10:00:00Z"
    }))
}

impl FakeKratos {
    /// Starts on a free loopback port.
    pub fn start() -> FakeKratos {
        let state = Arc::new(State::default());
        state.max_page_size.store(1000, Ordering::SeqCst);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::from(state.clone());
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .wrap(actix_web::middleware::from_fn(outage))
                        .route("/admin/identities", web::get().to(list))
                        .route("/admin/identities", web::post().to(create))
                        .route("/admin/identities/{id}", web::get().to(get))
                        .route("/admin/identities/{id}", web::patch().to(patch))
                        .route("/admin/identities/{id}", web::delete().to(delete))
                        .route("/admin/recovery/link", web::post().to(recovery))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run();
                let _ = server.await;
            })
        });
        FakeKratos { port, state }
    }

    /// The Admin API URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Caps page sizes, to force paging.
    pub fn set_max_page_size(&self, n: usize) {
        self.state.max_page_size.store(n, Ordering::SeqCst);
    }

    /// While down, every request gets a 503 as from a proxy in front of a stopped Kratos.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// How many list requests (pages) were served.
    pub fn list_requests(&self) -> usize {
        self.state.list_requests.load(Ordering::SeqCst)
    }

    /// Adds an identity directly in Kratos, as its own UI or another tool would.
    pub fn add(&self, email: &str, name: Value) -> Uuid {
        let id = Uuid::new_v4();
        self.state.identities.lock().unwrap().insert(
            id,
            identity(id, "default", json!({ "email": email, "name": name })),
        );
        id
    }

    /// Changes a trait directly in Kratos.
    pub fn set_trait(&self, id: Uuid, key: &str, value: Value) {
        let mut all = self.state.identities.lock().unwrap();
        let v = all.get_mut(&id).expect("identity exists");
        v["traits"][key] = value;
    }

    /// Deletes an identity directly in Kratos.
    pub fn remove(&self, id: Uuid) {
        self.state.identities.lock().unwrap().remove(&id);
    }

    /// Every identity, in id order.
    pub fn identities(&self) -> Vec<Value> {
        self.state
            .identities
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect()
    }

    /// The identity with this email, if any.
    pub fn by_email(&self, email: &str) -> Option<Value> {
        self.identities().into_iter().find(|v| {
            v["traits"]["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    }
}

async fn outage(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let down = req
        .app_data::<web::Data<State>>()
        .is_some_and(|s| s.down.load(Ordering::SeqCst));
    if down {
        let res = error(
            503,
            "Service Unavailable",
            "",
            "upstream connect error or disconnect/reset before headers",
        );
        return Ok(req.into_response(res));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
