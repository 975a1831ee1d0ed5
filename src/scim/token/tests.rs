//! The token cache: renewal after a refusal, and the renewal margin.

use serde_json::{Map, Value};

use super::*;

fn claims(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn jwt_is_cached_renewed_once_after_a_refusal_then_hopeless() {
    let auth = ScimAuth::Jwt {
        secret: Secret::new("shared-s3cr3t".into()),
        claims: claims(serde_json::json!({"user": "admin"})),
        ttl: Duration::from_secs(300),
    };
    let source = TokenSource::new(&auth).unwrap();
    let http = reqwest::Client::new();
    let first = source.credential(&http).await.unwrap().unwrap();
    let again = source.credential(&http).await.unwrap().unwrap();
    assert_eq!(first.serial, again.serial);
    assert_eq!(source.issued(), 1);
    let Renewal::Fresh(second) = source.renew(&http, &first).await.unwrap() else {
        panic!("a refused token is replaced once");
    };
    assert_ne!(second.serial, first.serial);
    assert_eq!(source.issued(), 2);
    source.refused_although_fresh(&second).await;
    assert!(matches!(
        source.renew(&http, &second).await.unwrap(),
        Renewal::Hopeless
    ));
    assert_eq!(
        source.issued(),
        2,
        "no new token once a fresh one was refused"
    );
    let debug = format!("{source:?}");
    assert!(
        !debug.contains("shared-s3cr3t") && !debug.contains("eyJ"),
        "{debug}"
    );
}

#[test]
fn renew_margin_is_a_tenth_up_to_a_minute() {
    assert_eq!(
        renew_margin(Duration::from_secs(2)),
        Duration::from_millis(200)
    );
    assert_eq!(
        renew_margin(Duration::from_secs(300)),
        Duration::from_secs(30)
    );
    assert_eq!(
        renew_margin(Duration::from_secs(3600)),
        Duration::from_secs(60)
    );
}
