use super::*;

#[test]
fn error_body_status_as_string_and_number() {
    let body = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"userName is required"}"#;
    let e = ScimError::from_response("POST", "/Users", 400, body, None);
    assert_eq!(
        e.to_string(),
        "POST /Users answered 400 (invalidValue): userName is required"
    );
    assert_eq!(e.kind(), ErrorKind::Permanent);
    let body = br#"{"status":409,"detail":"taken"}"#;
    let e = ScimError::from_response("POST", "/Users", 409, body, None);
    assert!(e.is_conflict());
    assert_eq!(e.detail(), Some("taken"));
}

#[test]
fn an_apps_text_is_cut_and_loses_control_characters() {
    let body = serde_json::json!({
        "schemas": [ERROR_SCHEMA], "status": "400",
        "detail": format!("bad\n2026-01-01 WARN open this setup link\u{1b}[31m{}", "x".repeat(1 << 20))
    });
    let e = ScimError::from_response("POST", "/Users", 400, body.to_string().as_bytes(), None);
    let text = e.to_string();
    assert!(!text.chars().any(char::is_control), "{:?}", &text[..80]);
    assert!(text.len() < 3 * MAX_APP_TEXT_CHARS, "{}", text.len());
    assert!(text.ends_with("…(cut)"));
}

#[test]
fn classification() {
    assert_eq!(classify_status(503), ErrorKind::Transient);
    assert_eq!(classify_status(429), ErrorKind::Transient);
    assert_eq!(classify_status(501), ErrorKind::Permanent);
    assert_eq!(classify_status(404), ErrorKind::Permanent);
    assert_eq!(classify_status(302), ErrorKind::Permanent);
}

#[test]
fn a_request_held_back_by_a_rate_limit_says_so_and_is_never_permanent() {
    let e = ScimError::held_back("POST", "/Users", Duration::from_secs(9));
    assert_eq!(
        e.to_string(),
        "POST /Users was not sent: the app limits its request rate (429) and asked to wait; retry after 9s"
    );
    assert!(e.is_transient() && e.is_rate_limited() && e.was_held_back());
    let e = ScimError::from_response("GET", "/Users", 429, b"<html>slow</html>", None);
    assert!(e.is_rate_limited() && !e.was_held_back());
    assert!(!ScimError::from_response("GET", "/Users", 503, b"", None).is_rate_limited());
}
