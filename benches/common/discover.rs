//! `discover`: discovery of an app answering 50,000 accounts in one listing (peak RSS of
//! the process, classification rate, requests), and a plan importing 10,000 people and
//! linking 10,000 applied by `app adopt`.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use accessboard::domain::{Decision, Role};
use accessboard::provisioning::discover::classify::{Locals, Person, Seen, settle_shared};
use serde_json::{Value, json};

use super::env::{BIN, BenchEnv};
use super::peer::{self, Peer};
use super::procfs;
use super::report::{Report, Target};
use super::settings::scim_app;

const ACCOUNTS: usize = 50_000;
const MATCHING: usize = 10_000;
const ADOPTED: usize = 10_000;

/// A CSV of `n` people with `email(i)` and no access.
fn csv(env: &BenchEnv, n: usize, email: impl Fn(usize) -> String) -> String {
    let mut s = String::from("email,name\n");
    for i in 0..n {
        s.push_str(&format!("{},Person {i:05}\n", email(i)));
    }
    let path = env.dir.path().join("people.csv");
    std::fs::write(&path, s).expect("write the CSV");
    path.to_str().expect("utf-8").to_owned()
}

/// `app discover --json` of 50,000 accounts, 10,000 of them people here without access.
pub fn discover_50k(report: &mut Report) {
    let peer = Peer::spawn_listing(ACCOUNTS);
    let env = BenchEnv::new(&scim_app(
        "files",
        &peer.base_url(),
        peer::TOKEN,
        "filter = false\npatch = false",
    ));
    env.cli(&["app", "install", "files"]);
    let people = csv(&env, MATCHING, |i| format!("user{i}@listed.example.org"));
    env.cli(&["user", "import", &people]);
    let plan_path = env.dir.path().join("plan.json");
    let t0 = Instant::now();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&env.settings_path)
        .args(["app", "discover", "files", "--json"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&plan_path).expect("the plan file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn app discover");
    // VmHWM only grows: the last reading before the process ends is its peak.
    let mut hwm_kb = 0;
    while child.try_wait().expect("wait").is_none() {
        if let Some(kb) = procfs::status_kb(child.id(), "VmHWM") {
            hwm_kb = hwm_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let secs = t0.elapsed().as_secs_f64();
    let plan: Value =
        serde_json::from_slice(&std::fs::read(&plan_path).expect("read the plan")).expect("JSON");
    let listed = plan["accounts"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, ACCOUNTS, "every account in the plan");
    assert_eq!(plan["counts"]["matches_without_access"], MATCHING);
    report.figure(
        "discover_50k_peak_rss",
        hwm_kb as f64 / 1024.0,
        "MiB",
        Target::AtMost(64.0),
    );
    report.figure(
        "discover_50k_requests",
        plan["requests"].as_f64().unwrap_or(-1.0),
        "requests",
        Target::AtMost(1.0),
    );
    report.figure("discover_50k_seconds", secs, "s", Target::None);
    report.figure(
        "discover_classify_per_sec",
        classify_rate(),
        "accounts/s",
        Target::AtLeast(20_000.0),
    );
    report.note(format!(
        "discover_50k: `app discover files --json` of an app announcing no filter whose `GET /Users` answers \
         all {ACCOUNTS} accounts at once (Nextcloud-shaped, about 35 MB), {MATCHING} of them people here \
         without access; the listing is classified as it streams. Peak RSS is the process's VmHWM, {secs:.2} s \
         from start to exit (the plan written); requests are the listing's. discover_classify_per_sec: \
         {ACCOUNTS} accounts classified against {ACCOUNTS} people in process, after the listing is read."
    ));
}

/// Accounts classified per second, in process: 50,000 accounts against 50,000 people,
/// a fifth by our externalId, a fifth by email, the rest nobody's.
fn classify_rate() -> f64 {
    let people: Vec<(Person, Option<String>)> = (0..ACCOUNTS)
        .map(|i| {
            (
                Person {
                    id: uuid::Uuid::new_v4(),
                    email: format!("person{i}@example.org"),
                    name: format!("Person {i}"),
                    deleted: false,
                    role: if i % 2 == 0 { Role::User } else { Role::None },
                    scim_id: None,
                },
                None,
            )
        })
        .collect();
    let ids: Vec<String> = people.iter().map(|(p, _)| p.id.to_string()).collect();
    let locals = Locals::new(people, HashSet::new(), "{email}");
    let accounts: Vec<(String, String, Vec<String>, Option<String>)> = (0..ACCOUNTS)
        .map(|i| {
            let (name, ext) = match i % 5 {
                0 => (format!("u{i}"), Some(ids[i].clone())),
                1 => (format!("Person{i}@Example.org"), None),
                _ => (format!("stranger{i}"), None),
            };
            (
                format!("id{i}"),
                name.clone(),
                vec![format!("{name}@x.example.org")],
                ext,
            )
        })
        .collect();
    let t0 = Instant::now();
    let mut verdicts: Vec<_> = accounts
        .iter()
        .map(|(id, name, emails, ext)| {
            locals.classify(&Seen {
                id,
                user_name: name,
                emails,
                external_id: ext.as_deref(),
                active: true,
            })
        })
        .collect();
    settle_shared(&mut verdicts);
    ACCOUNTS as f64 / t0.elapsed().as_secs_f64()
}

/// `app adopt` of a plan importing 10,000 people and linking 10,000 people here.
pub fn adopt_20k(report: &mut Report) {
    let env = BenchEnv::new(&scim_app("files", "http://127.0.0.1:9/scim/v2", "t", ""));
    env.cli(&["app", "install", "files"]);
    let people = csv(&env, ADOPTED, |i| format!("person{i:05}@example.org"));
    env.cli(&["user", "import", &people]);
    let stamp = accessboard::db::unmanaged::stamp(&env.read_only(), "files").expect("the stamp");
    let mut accounts = Vec::with_capacity(2 * ADOPTED);
    for i in 0..ADOPTED {
        accounts.push(
            json!({"id": format!("l{i}"), "user_name": format!("person{i:05}"),
            "emails": [format!("person{i:05}@example.org")], "active": true,
            "class": "matches_without_access", "person": format!("person{i:05}@example.org"),
            "decision": Decision::Link { role: Role::User }}),
        );
        accounts.push(
            json!({"id": format!("n{i}"), "user_name": format!("new{i:05}"),
            "emails": [format!("new{i:05}@example.org")], "name": format!("New Person {i:05}"),
            "active": true, "class": "unknown", "decision": Decision::Import { role: Role::User }}),
        );
    }
    let plan = json!({"app": "files", "stamp": stamp, "discovered_at": "", "requests": 1,
        "counts": {}, "accounts": accounts});
    let path = env.dir.path().join("plan.json");
    std::fs::write(&path, plan.to_string()).expect("write the plan");
    let t0 = Instant::now();
    env.cli(&["app", "adopt", "files", path.to_str().expect("utf-8")]);
    let secs = t0.elapsed().as_secs_f64();
    let marked: i64 = env
        .read_only()
        .query_row(
            "SELECT count(*) FROM app_access WHERE app_slug = 'files' AND role = 'user'
             AND scim_id IS NOT NULL AND status = 'sync_needed'",
            [],
            |r| r.get(0),
        )
        .expect("count the pairs");
    assert_eq!(
        marked,
        2 * ADOPTED as i64,
        "every pair marked with its account"
    );
    report.figure("adopt_20k_seconds", secs, "s", Target::AtMost(5.0));
    report.figure(
        "adopt_rows_per_transaction",
        accessboard::users::ROWS_PER_TX as f64,
        "rows",
        Target::AtMost(1000.0),
    );
    report.note(format!(
        "adopt_20k: `app adopt` of a plan importing {ADOPTED} people and linking {ADOPTED} people here, \
         {secs:.2} s from start to exit; every pair then holds its account id and is `sync_needed` (the \
         worker proves and confirms it). Transactions of at most `ROWS_PER_TX` accounts."
    ));
}
