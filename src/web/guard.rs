//! The sign-in guard (deny by default) and request counting for /metrics.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};

use super::session::{self, CurrentAdmin};
use super::{AppState, is_public};

/// Whether the request came from htmx (and is not a history restore, which wants a page).
pub fn is_htmx(req: &actix_web::HttpRequest) -> bool {
    is_htmx_headers(req.headers())
}

fn is_htmx_headers(h: &header::HeaderMap) -> bool {
    h.get("hx-request").is_some_and(|v| v == "true")
        && h.get("hx-history-restore-request").is_none()
}

/// Lets public paths through; everything else needs a live admin session.
/// Browsers are sent to /login; htmx requests get 401 with `HX-Redirect`.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_public(req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError("no app state"));
    };
    let session = req.get_session();
    let admin = match session::lookup(state.service.db(), &session).await {
        Ok(a) => a,
        Err(e) => {
            let res = e.error_response();
            return Ok(req.into_response(res));
        }
    };
    let Some(admin) = admin else {
        let res = if is_htmx_headers(req.headers()) {
            HttpResponse::Unauthorized()
                .insert_header(("HX-Redirect", "/login"))
                .body("sign in first")
        } else {
            let mut target = String::from("/login");
            if req.method() == actix_web::http::Method::GET && req.path() != "/" {
                target.push_str("?next=");
                target.push_str(
                    &url::form_urlencoded::byte_serialize(req.uri().to_string().as_bytes())
                        .collect::<String>(),
                );
            }
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish()
        };
        return Ok(req.into_response(res));
    };
    // `[auth] require_second_factor`: someone without one sets it up before anything else.
    // A sign-in through the provider counts when `acr_values`/`amr` made it prove one.
    if state.service.settings().auth.require_second_factor
        && !admin.second_factor
        && !super::sso::factor_confirmed(&state, &session)
        && !req.path().starts_with("/account/two-factor")
        && !req.path().starts_with("/account/passkeys")
        && req.path() != "/logout"
    {
        let res = if is_htmx_headers(req.headers()) {
            HttpResponse::Forbidden()
                .insert_header(("HX-Redirect", "/account/two-factor"))
                .body("set up two-factor sign-in first")
        } else {
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/account/two-factor"))
                .finish()
        };
        return Ok(req.into_response(res));
    }
    let mut admin = admin;
    if let Ok(Some((since, why))) = state.service.identity_outage().await {
        let since = super::times::local_text(since, &state.service.settings().server.zone);
        admin.identity_outage = Some(format!(
            "Kratos cannot be reached since {since}: {why}. People and pages show what accessboard last saw; changes to people wait until it answers."
        ));
    }
    // Only a whole page shows the message; htmx fragments and polls leave it be.
    if req.method() == actix_web::http::Method::GET && !is_htmx_headers(req.headers()) {
        admin.flash = super::flash::take(&session);
    }
    let htmx = is_htmx_headers(req.headers());
    req.extensions_mut().insert::<CurrentAdmin>(admin);
    let mut res = next.call(req).await?.map_into_boxed_body();
    // An error page keeps the header of the admin who is signed in (their name, Sign out);
    // htmx does not swap error answers, so its requests keep the plain one.
    let error = res
        .response()
        .extensions()
        .get::<super::error::ErrorText>()
        .cloned();
    if let (false, Some(super::error::ErrorText(message))) = (htmx, error) {
        let admin = res.request().extensions().get::<CurrentAdmin>().cloned();
        if let Some(admin) = admin {
            let page = super::error::signed_in_page(res.status(), &message, &admin);
            res = res.map_body(|_, _| BoxBody::new(page.into_string()));
        }
    }
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::VARY, HeaderValue::from_static("HX-Request"));
    Ok(res)
}

/// Wraps every route that changes something (or confirms a change): a viewer gets 403.
/// It runs inside [`require_admin`], so whoever gets here is signed in.
pub async fn require_change(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let allowed = req
        .extensions()
        .get::<CurrentAdmin>()
        .is_some_and(CurrentAdmin::can_change);
    if !allowed {
        let res = super::WebError::Forbidden(
            "You can see this dashboard but not change it: your access is viewer. Ask an admin to make this change."
                .into(),
        )
        .error_response();
        return Ok(req.into_response(res));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// One span per request, with an id echoed in `X-Request-Id`; counts it for /metrics.
///
/// The path is logged without its query string: setup tokens travel there.
pub async fn trace_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use tracing::Instrument;
    let request_id = session::random_hex(8);
    let span = tracing::info_span!(
        "http_request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = std::time::Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    crate::metrics::observe_http(&route, status);
    span.in_scope(|| {
        tracing::info!(
            route = %route,
            status,
            duration_ms = started.elapsed().as_millis() as u64,
            "request"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}
