//! Conditions raised once until told resolved; the outbox keeps the newest per channel.

use super::*;

fn db() -> Connection {
    let mut c = Connection::open_in_memory().unwrap();
    crate::db::migrate(&mut c).unwrap();
    c
}

fn quarantine(app: &str) -> Condition {
    Condition::of_app(AlertKind::AppQuarantined, Slug::parse(app).unwrap())
}

#[test]
fn a_condition_is_raised_once_until_its_resolution_is_told() {
    let c = db();
    let q = quarantine("files");
    assert!(raise(&c, &q, "every request failed for 15 minutes", 10).unwrap());
    assert!(
        !raise(&c, &q, "again", 20).unwrap(),
        "a standing condition is raised once"
    );
    assert_eq!(
        get(&c, &q).unwrap().unwrap().detail,
        "every request failed for 15 minutes"
    );
    assert_eq!(to_announce(&c).unwrap().len(), 1);
    announced(&c, &q, 11).unwrap();
    assert!(to_announce(&c).unwrap().is_empty());
    assert!(resolve(&c, &q, "a probe succeeded", 30).unwrap());
    assert!(!resolve(&c, &q, "twice", 31).unwrap());
    let told = to_announce(&c).unwrap();
    assert_eq!(told[0].resolution.as_deref(), Some("a probe succeeded"));
    forget(&c, &q).unwrap();
    assert!(get(&c, &q).unwrap().is_none());
    assert!(
        raise(&c, &q, "down again", 40).unwrap(),
        "a new episode is new"
    );
}

#[test]
fn a_condition_back_before_its_resolution_was_told_stands_on() {
    let c = db();
    let g = Condition::of_app(AlertKind::RevocationGuard, Slug::parse("chat").unwrap());
    raise(&c, &g, "35 revocations in 5 minutes", 1).unwrap();
    announced(&c, &g, 2).unwrap();
    resolve(&c, &g, "released", 3).unwrap();
    assert!(!raise(&c, &g, "tripped again", 4).unwrap());
    let row = get(&c, &g).unwrap().unwrap();
    assert_eq!((row.resolved_at, row.announced_at), (None, Some(2)));
}

#[test]
fn the_outbox_keeps_the_newest_per_channel() {
    let c = db();
    let m = |n: i64| Message {
        kind: AlertKind::IdentitySyncHeldBack,
        app: None,
        state: MessageState::Raised,
        title: format!("m{n}"),
        body: String::new(),
        at: n,
    };
    for n in 0..5 {
        enqueue(&c, &["webhook", "email"], &m(n), 3).unwrap();
    }
    let first = next(&c, "webhook").unwrap().unwrap();
    assert_eq!(first.message.title, "m2");
    not_sent(&c, first.id, "connection refused").unwrap();
    assert_eq!(next(&c, "webhook").unwrap().unwrap().attempts, 1);
    sent(&c, first.id).unwrap();
    assert_eq!(next(&c, "webhook").unwrap().unwrap().message.title, "m3");
    assert_eq!(drop_channel(&c, "email").unwrap(), 3);
    assert!(next(&c, "email").unwrap().is_none());
}
