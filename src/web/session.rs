//! Sessions: a signed cookie carrying a session id and the CSRF token; the id
//! is looked up in `web_sessions` with the person's dashboard access on every request,
//! so logout (or a lower level) holds at once, even for a copied cookie. The signing key lives in `meta`, so restarts keep sessions.

use std::future::{Ready, ready};

use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::{Key, SameSite};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use rand::Rng;
use uuid::Uuid;

use super::WebError;
use crate::db::{Db, meta, sessions, time};

/// Name of the session cookie.
pub const COOKIE: &str = "accessboard_session";
/// Its name over HTTPS: browsers take a `__Host-` cookie only when `Secure`, for this
/// host alone (no `Domain`) and `Path=/`, so a sibling subdomain cannot plant or read it.
pub const SECURE_COOKIE: &str = "__Host-accessboard_session";
const KEY_META: &str = "web_session_key";
const SID: &str = "sid";
/// Session key of the CSRF token.
pub const CSRF: &str = "csrf";
/// A session unused this long ends.
pub const IDLE_SECS: i64 = 12 * 3600;
/// No session lives longer than this.
pub const MAX_AGE_SECS: i64 = 7 * 24 * 3600;
/// How often `last_seen_at` is written (not on every request).
const TOUCH_SECS: i64 = 60;

/// Random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex text as bytes; `None` unless it is whole bytes of hex digits.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The cookie signing key, created on first start (blocking).
pub fn load_or_create_key(db: &Db) -> Result<Key, WebError> {
    Ok(Key::from(&load_or_create_secret(db, KEY_META, 64)?))
}

/// `len` random bytes kept in `meta` under `name`, created on first start (blocking).
pub fn load_or_create_secret(db: &Db, name: &str, len: usize) -> Result<Vec<u8>, WebError> {
    let conn = db.conn()?;
    let stored = |conn: &rusqlite::Connection| -> Result<Option<Vec<u8>>, WebError> {
        Ok(meta::get(conn, name)?
            .as_deref()
            .and_then(from_hex)
            .filter(|b| b.len() == len))
    };
    if let Some(bytes) = stored(&conn)? {
        return Ok(bytes);
    }
    meta::set_if_absent(&conn, name, &random_hex(len))?;
    // Another process may have won the race: use whatever is stored.
    stored(&conn)?.ok_or_else(|| WebError::Internal(format!("the stored {name} is unreadable")))
}

/// The cookie middleware: signed, HttpOnly, SameSite=Lax; `Secure` and `__Host-` over HTTPS.
pub fn middleware(key: Key, secure: bool) -> SessionMiddleware<CookieSessionStore> {
    let name = if secure { SECURE_COOKIE } else { COOKIE };
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name(name.to_owned())
        .cookie_path("/".to_owned())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_secure(secure)
        .cookie_content_security(CookieContentSecurity::Signed)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(actix_web::cookie::time::Duration::seconds(MAX_AGE_SECS)),
        )
        .build()
}

/// The CSRF token of this session, created when missing.
pub fn csrf_token(session: &Session) -> Result<String, WebError> {
    if let Ok(Some(t)) = session.get::<String>(CSRF) {
        return Ok(t);
    }
    let t = random_hex(32);
    session.insert(CSRF, &t)?;
    Ok(t)
}

/// The signed-in admin of this request (set by the guard).
#[derive(Debug, Clone)]
pub struct CurrentAdmin {
    /// User id.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Viewer or admin, as the database says on this request.
    pub level: crate::domain::DashboardAccess,
    /// Whether they have a confirmed second factor.
    pub second_factor: bool,
    /// The session's CSRF token, for forms and the htmx header.
    pub csrf: String,
    /// Why the identity source (Kratos) is unreachable, for the banner on every page.
    pub identity_outage: Option<String>,
    /// The message a change left for this page (see `flash`).
    pub flash: Option<super::flash::Flash>,
}

impl CurrentAdmin {
    /// Whether this person may change anything (an admin, not a viewer).
    pub fn can_change(&self) -> bool {
        self.level.can_change()
    }

    /// The CSRF token for a form that changes something; `None` for a viewer, who
    /// is shown no such form.
    pub fn change_token(&self) -> Option<&str> {
        self.can_change().then_some(self.csrf.as_str())
    }

    /// Who this admin's changes are recorded as in the audit trail.
    pub fn actor(&self) -> crate::domain::Actor {
        crate::domain::Actor::Admin(self.email.clone())
    }
}

impl FromRequest for CurrentAdmin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<CurrentAdmin>()
                .cloned()
                .ok_or_else(|| actix_web::error::ErrorUnauthorized("sign in first")),
        )
    }
}

/// Signs `user` in: a new session id (the old cookie is worthless) and a new CSRF token.
pub async fn start(db: &Db, session: &Session, user: Uuid) -> Result<(), WebError> {
    if let Ok(Some(old)) = session.get::<String>(SID) {
        end_sid(db, old).await?;
    }
    session.renew();
    session.clear();
    let sid = random_hex(32);
    let stored = sid.clone();
    db.run(move |c| sessions::session_create(c, &stored, user, time::now()))
        .await?;
    session.insert(SID, sid)?;
    session.insert(CSRF, random_hex(32))?;
    Ok(())
}

async fn end_sid(db: &Db, sid: String) -> Result<(), WebError> {
    db.run(move |c| sessions::session_delete(c, &sid, time::now() - IDLE_SECS))
        .await?;
    Ok(())
}

/// Signs out: the session row goes, and the cookie is cleared.
pub async fn end(db: &Db, session: &Session) -> Result<(), WebError> {
    if let Ok(Some(sid)) = session.get::<String>(SID) {
        end_sid(db, sid).await?;
    }
    session.purge();
    Ok(())
}

/// The admin behind this session, if it is live.
pub async fn lookup(db: &Db, session: &Session) -> Result<Option<CurrentAdmin>, WebError> {
    let Ok(Some(sid)) = session.get::<String>(SID) else {
        return Ok(None);
    };
    let Ok(Some(csrf)) = session.get::<String>(CSRF) else {
        return Ok(None);
    };
    let now = time::now();
    let read_sid = sid.clone();
    let admin = db
        .read_now(move |c| {
            sessions::session_admin(c, &read_sid, now - MAX_AGE_SECS, now - IDLE_SECS)
        })
        .await?;
    // The write, once a minute, goes through the blocking pool: it may wait for the lock.
    if let Some(a) = &admin
        && now - a.last_seen_at > TOUCH_SECS
    {
        db.run(move |c| sessions::session_touch(c, &sid, now))
            .await?;
    }
    Ok(admin.map(|a| CurrentAdmin {
        id: a.id,
        email: a.email,
        name: a.name,
        level: a.level,
        second_factor: a.second_factor,
        csrf,
        identity_outage: None,
        flash: None,
    }))
}
