//! Groups (issue 17): granting a 5,000-member group marks and enqueues every pair, and
//! pushing a 1,000-member group into scim2-server costs a handful of group requests.

use std::time::{Duration, Instant};

use super::api;
use super::env::{BenchEnv, Serve, wait_provisioned};
use super::report::{Report, Target};
use super::scim_server::ScimServer;
use super::settings::scim_app;
use accessboard::domain::{GroupName, Role, Slug};
use accessboard::users::{GroupChange, GroupKey};

const APP: &str = "files";
const RUNS: usize = 3;

/// `email,name,groups` with `n` rows, everyone in `group`, nobody with access of their own.
fn members_csv(n: usize, group: &str) -> String {
    let mut s = String::from("email,name,groups\n");
    for i in 0..n {
        s.push_str(&format!("member{i:05}@example.org,Member {i:05},{group}\n"));
    }
    s
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `group grant` of a 5,000-member group in an installed app: one transaction marks
/// every pair, then every job is enqueued; median of fresh databases.
pub fn grant_5000(runtime: &tokio::runtime::Runtime, report: &mut Report) {
    const N: usize = 5_000;
    let csv = members_csv(N, "everyone").into_bytes();
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        // Nothing answers on port 9: nothing is provisioned, the jobs only wait.
        let env = BenchEnv::new(&scim_app(APP, "http://127.0.0.1:9", "t", ""));
        runtime.block_on(async {
            let ctx = api::open(env.settings()).await;
            ctx.service
                .install_app(&Slug::parse(APP).expect("slug"))
                .await
                .expect("install");
            let plan = ctx.service.plan_import(csv.clone()).await.expect("plan");
            assert_eq!(ctx.service.import(plan).await.expect("import").created, N);
            let key = GroupKey::Name(GroupName::parse("everyone").expect("name"));
            let grant = GroupChange::Grant(Slug::parse(APP).expect("slug"), Role::User);
            let t = Instant::now();
            let done = ctx.service.change_group(key, grant).await.expect("grant");
            runs.push(t.elapsed().as_secs_f64());
            assert_eq!(done.gain_access, N);
            let (pending, _) = ctx.queue.counts().await.expect("queue counts");
            assert_eq!(pending as usize, N, "every marked pair is enqueued");
        });
    }
    let list = runs
        .iter()
        .map(|s| format!("{s:.3}"))
        .collect::<Vec<_>>()
        .join(", ");
    report.figure("grant_group_5000", median(runs), "s", Target::AtMost(1.0));
    report.note(format!(
        "grant_group_5000: `UserService::change_group` granting `user` in an installed app to a group of {N} people \
         without access of their own: one transaction refreshes and marks {N} pairs, then {N} jobs are enqueued; \
         median of {RUNS} fresh databases (runs: {list} s)."
    ));
}

/// 1,000 people in a group granted in an app with `push_groups`, provisioned by `serve`
/// into scim2-server: requests to /Groups, counted in the server's access log.
pub fn push_1000(report: &mut Report) {
    const N: usize = 1_000;
    let server = ScimServer::start();
    let env = BenchEnv::new(&scim_app(
        APP,
        &server.base_url(),
        server.token(),
        "push_groups = true",
    ));
    let csv = env.dir.path().join("members.csv");
    std::fs::write(&csv, members_csv(N, "everyone")).expect("write csv");
    env.cli(&["user", "import", csv.to_str().expect("utf-8 path")]);
    env.cli(&["group", "grant", "everyone", APP, "user"]);
    let mut serve = Serve::start(&env);
    let seen = server.log_lines().len();
    let t0 = Instant::now();
    env.cli(&["app", "install", APP]);
    let done = wait_provisioned(&env, APP, N as i64, Duration::from_secs(600), &serve.log);
    serve.stop();
    let plan = server.requests_since(seen);
    let groups: usize = plan
        .iter()
        .filter(|(k, _)| k.contains("/Groups"))
        .map(|(_, n)| n)
        .sum();
    let held = server.group_members("everyone").len();
    assert_eq!(held, N, "the pushed group holds every member");
    report.figure(
        "push_group_1000_requests",
        groups as f64,
        "requests",
        Target::AtMost(12.0),
    );
    let described = plan
        .iter()
        .filter(|(k, _)| k.contains("/Groups"))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    report.note(format!(
        "push_group_1000_requests: {N} people in one group granted in an app with `push_groups = true`, \
         provisioned by `serve` into scim2-server after `app install`, {:.1} s; group requests: {described}; \
         the group in the app holds all {held}.",
        done.duration_since(t0).as_secs_f64()
    ));
}
