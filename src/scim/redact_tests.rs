use serde_json::json;

use super::*;
use crate::secret::Secret;

fn bearer(token: &str) -> Redactor {
    Redactor::for_auth(&ScimAuth::Bearer(Secret::new(token.into())))
}

#[test]
fn an_echoed_token_is_replaced_by_value_in_any_field() {
    let r = bearer("s3cr3t-T0ken");
    let mut doc = json!({
        "userName": "ann",
        "meta": {"credentials": {"bearer": "Bearer s3cr3t-T0ken"}},
        "headers": ["Authorization: Bearer s3cr3t-T0ken"],
        "note": "you sent s3cr3t-T0ken",
        "auth": "basic dXNlcjpwYXNzd29yZA==",
    });
    r.json(&mut doc);
    let text = doc.to_string();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(!text.contains("dXNlcjpwYXNzd29yZA"), "{text}");
    assert_eq!(doc["userName"], "ann");
    assert_eq!(doc["note"], "you sent [redacted]");
}

#[test]
fn more_names_count_as_secret() {
    let r = Redactor::default();
    let mut doc = json!({"X-Api-Key": "k", "Cookie": "c", "privateKey": "p", "passwd": "w",
        "pwd": "w", "Authorization": "a", "display": "shown"});
    r.json(&mut doc);
    let text = doc.to_string();
    assert_eq!(text.matches(REDACTED).count(), 6, "{text}");
    assert!(text.contains("shown"));
}

#[test]
fn basic_credentials_go_in_every_form() {
    let r = Redactor::for_auth(&ScimAuth::Basic {
        username: "admin".into(),
        password: Secret::new("hunter22".into()),
    });
    let encoded = STANDARD.encode("admin:hunter22");
    let said = r.text(&format!("got {encoded} for admin:hunter22 (hunter22)"));
    assert_eq!(said, "got [redacted] for [redacted] ([redacted])");
}

#[test]
fn issued_tokens_are_remembered_a_few_at_a_time() {
    let r = Redactor::for_auth(&ScimAuth::None);
    for i in 0..6 {
        r.remember(&format!("token-number-{i}"));
    }
    let said = r.text("token-number-5 token-number-2 token-number-1");
    assert_eq!(said, "[redacted] [redacted] token-number-1");
}

#[test]
fn free_text_loses_what_follows_bearer_or_basic_but_keeps_prose() {
    assert_eq!(
        authorization_values("header was Bearer eyJhbGciOi.J9x-y and more"),
        "header was Bearer [redacted] and more"
    );
    assert_eq!(
        authorization_values("BASIC YWRtaW46aHVudGVyMjI="),
        "BASIC [redacted]"
    );
    assert_eq!(
        authorization_values("basic authentication failed; a bearer token is needed"),
        "basic authentication failed; a bearer token is needed"
    );
    assert_eq!(authorization_values("nobearer x"), "nobearer x");
}

#[test]
fn a_very_short_secret_does_not_garble_every_message() {
    let r = bearer("t");
    let said = r.text("POST /Users was not sent: the app limits its request rate");
    assert_eq!(
        said,
        "POST /Users was not sent: the app limits its request rate"
    );
    let mut doc = json!({"note": "Bearer t", "apiKey": "t", "title": "tt"});
    r.json(&mut doc);
    assert_eq!(doc["note"], REDACTED, "still after Bearer");
    assert_eq!(doc["apiKey"], REDACTED, "still by name");
    assert_eq!(doc["title"], "tt");
}
