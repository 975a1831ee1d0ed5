//! The vendored static files, compiled into the binary and served with long
//! cache headers; pages link them with a content hash so a new build is fetched.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");
const CSS: &[u8] = include_bytes!("../../assets/app.css");
const PASSKEY: &[u8] = include_bytes!("../../assets/passkey.js");

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const HTMX_HASH: u64 = fnv1a(HTMX);
const CSS_HASH: u64 = fnv1a(CSS);
const PASSKEY_HASH: u64 = fnv1a(PASSKEY);

/// The URL of the stylesheet, with its content hash.
pub fn css_url() -> String {
    format!("/assets/app.css?v={CSS_HASH:016x}")
}

/// The URL of htmx, with its content hash.
pub fn htmx_url() -> String {
    format!("/assets/htmx.min.js?v={HTMX_HASH:016x}")
}

/// The URL of the passkey script, with its content hash.
pub fn passkey_url() -> String {
    format!("/assets/passkey.js?v={PASSKEY_HASH:016x}")
}

/// GET /assets/{name}
pub async fn serve(name: web::Path<String>) -> HttpResponse {
    let (body, kind, hash) = match name.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8", HTMX_HASH),
        "app.css" => (CSS, "text/css; charset=utf-8", CSS_HASH),
        "passkey.js" => (PASSKEY, "text/javascript; charset=utf-8", PASSKEY_HASH),
        _ => {
            return HttpResponse::NotFound()
                .content_type("text/plain")
                .body("no such asset");
        }
    };
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::ETAG, format!("\"{hash:016x}\"")))
        .body(body)
}
