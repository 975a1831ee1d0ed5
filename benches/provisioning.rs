//! `cargo bench --bench provisioning`: how fast `serve` provisions, how big it gets, and how
//! long the service takes to install an app for, and import, 10,000 people.
//!
//! Prints `bench <name> <value> <unit> target <x>` lines and rewrites the `provisioning`
//! section of docs/benchmarks.md. Arguments that do not start with `--` pick parts by name
//! (`throughput`, `listing`, `in_process`, `with_filter`, `without_filter`, `admins`, `sync`,
//! `hanging`, `discover`, `groups`); a partial run leaves the docs alone, except `groups`, whose
//! figures have their own section (`groups`) and are written whenever they run.

mod common;

use std::time::{Duration, Instant};

use accessboard::domain::Slug;
use common::api;
use common::env::{BenchEnv, Serve, people_csv, wait_provisioned};
use common::peer::{self, Peer};
use common::procfs::{self, CpuSplit};
use common::report::{Report, Target, write_section};
use common::settings::scim_app;

const APP: &str = "files";
const PAIRS: usize = 10_000;
const IN_PROCESS_RUNS: usize = 3;

fn main() {
    peer::run_if_peer();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |part: &str| filters.is_empty() || filters.iter().any(|f| part.contains(f));
    let started = Instant::now();
    let machine = procfs::machine();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut report = Report::default();
    if wanted("throughput") {
        reconcile_throughput(&mut report);
    }
    if wanted("listing") {
        common::listing::unpaged_listing(&mut report);
    }
    if wanted("in_process") {
        in_process(&runtime, &mut report);
    }
    if wanted("with_filter") {
        common::pace::with_filter(&runtime, &mut report);
    }
    if wanted("without_filter") {
        common::pace::without_filter(&runtime, &mut report);
    }
    if wanted("admins") {
        common::pace::admins_at_once(&mut report);
    }
    if wanted("sync") {
        common::pace::sync_unchanged(&runtime, &mut report);
    }
    if wanted("hanging") {
        common::pace::hanging_neighbour(&mut report);
    }
    if wanted("discover") {
        common::discover::discover_50k(&mut report);
    }
    // Named so that `-- adopt` runs it alone, and `-- discover` still runs both.
    if wanted("discover_adopt") {
        common::discover::adopt_20k(&mut report);
    }
    if wanted("groups") {
        let t = Instant::now();
        let mut groups = Report::default();
        common::groups::grant_5000(&runtime, &mut groups);
        common::groups::push_1000(&mut groups);
        let body = groups.markdown(
            "groups",
            &machine,
            "cargo bench --bench provisioning groups",
            t.elapsed().as_secs_f64(),
        );
        write_section("groups", &body);
    }
    let wall = started.elapsed().as_secs_f64();
    println!("# provisioning bench took {wall:.1} s");
    if filters.is_empty() {
        let body = report.markdown(
            "provisioning",
            &machine,
            "cargo bench --bench provisioning",
            wall,
        );
        write_section("provisioning", &body);
    } else {
        println!(
            "# partial run ({filters:?}): the provisioning section of docs/benchmarks.md left as it was"
        );
    }
}

/// 10,000 pairs through `serve`'s workers against the null peer, cold start; then VmHWM.
fn reconcile_throughput(report: &mut Report) {
    let peer = Peer::spawn();
    let env = BenchEnv::new(&scim_app(APP, &peer.base_url(), peer::TOKEN, ""));
    let workers = env.settings().provisioning.workers;
    let t = Instant::now();
    // Access granted while the app is not installed: nothing is queued yet.
    env.import(PAIRS, APP);
    let import_secs = t.elapsed().as_secs_f64();
    let mut serve = Serve::start(&env);
    let (serve0, peer0) = (procfs::cpu_secs(serve.pid()), procfs::cpu_secs(peer.pid()));
    let t0 = Instant::now();
    env.cli(&["app", "install", APP]);
    let install_cli = t0.elapsed().as_secs_f64();
    let done = wait_provisioned(
        &env,
        APP,
        PAIRS as i64,
        Duration::from_secs(300),
        &serve.log,
    );
    let secs = done.duration_since(t0).as_secs_f64();
    let split = CpuSplit {
        serve: procfs::cpu_secs(serve.pid()) - serve0,
        other: procfs::cpu_secs(peer.pid()) - peer0,
        wall: secs,
    };
    let hwm_kb = procfs::status_kb(serve.pid(), "VmHWM").unwrap_or(0);
    let calls: i64 = env
        .read_only()
        .query_row(
            "SELECT count(*) FROM provision_log WHERE app_slug = ?1",
            [APP],
            |r| r.get(0),
        )
        .unwrap_or(0);
    serve.stop();

    report.figure(
        "reconcile_throughput",
        PAIRS as f64 / secs,
        "pairs/s",
        Target::AtLeast(2000.0),
    );
    report.figure(
        "peak_rss",
        hwm_kb as f64 / 1024.0,
        "MiB",
        Target::AtMost(64.0),
    );
    report.note(format!(
        "reconcile_throughput: {PAIRS} users × 1 app against the null peer, `provisioning.workers` = {workers} (the default); \
         {secs:.2} s from running `app install {APP}` (the command itself took {install_cli:.2} s) until the last pair read `provisioned` \
         (polled every 50 ms); {:.1} SCIM calls per pair. CPU: {}.",
        calls as f64 / PAIRS as f64,
        split.describe("null peer")
    ));
    report.note(format!(
        "peak_rss: VmHWM of the `serve` process after that run. (`user import` of the {PAIRS}-row CSV through the CLI took {import_secs:.2} s.)"
    ));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// install_app_10k and csv_import_10k through the library, on fresh databases.
fn in_process(runtime: &tokio::runtime::Runtime, report: &mut Report) {
    let slug = Slug::parse(APP).expect("slug");
    let csv = people_csv(PAIRS, APP).into_bytes();
    let mut install = Vec::new();
    let mut import_queued = Vec::new();
    let mut import_quiet = Vec::new();
    for _ in 0..IN_PROCESS_RUNS {
        // Nothing answers on port 9: these runs never call the app, they only enqueue.
        let apps = scim_app(APP, "http://127.0.0.1:9", peer::TOKEN, "");

        // The app is not installed during the import, then installed for everyone.
        let env = BenchEnv::new(&apps);
        runtime.block_on(async {
            let ctx = api::open(env.settings()).await;
            let t = Instant::now();
            let plan = ctx.service.plan_import(csv.clone()).await.expect("plan");
            let r = ctx.service.import(plan).await.expect("import");
            import_quiet.push(t.elapsed().as_secs_f64());
            assert_eq!(r.created, PAIRS, "{:?}", r.errors.first());
            let t = Instant::now();
            let n = ctx.service.install_app(&slug).await.expect("install");
            install.push(t.elapsed().as_secs_f64());
            assert_eq!(n, PAIRS);
            let (pending, _) = ctx.queue.counts().await.expect("queue counts");
            assert_eq!(pending as usize, PAIRS, "every marked pair is enqueued");
        });

        // The app is installed first, so the import also marks and enqueues every pair.
        let env = BenchEnv::new(&apps);
        runtime.block_on(async {
            let ctx = api::open(env.settings()).await;
            ctx.service.install_app(&slug).await.expect("install");
            let t = Instant::now();
            let plan = ctx.service.plan_import(csv.clone()).await.expect("plan");
            let r = ctx.service.import(plan).await.expect("import");
            import_queued.push(t.elapsed().as_secs_f64());
            assert_eq!(r.created, PAIRS, "{:?}", r.errors.first());
            let (pending, _) = ctx.queue.counts().await.expect("queue counts");
            assert_eq!(pending as usize, PAIRS, "every imported pair is enqueued");
        });
    }
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    report.figure(
        "install_app_10k",
        median(install.clone()),
        "s",
        Target::AtMost(1.0),
    );
    report.figure(
        "csv_import_10k",
        median(import_queued.clone()),
        "s",
        Target::AtMost(2.0),
    );
    report.note(format!(
        "install_app_10k: `UserService::install_app` for an app {PAIRS} people have access to: one transaction marks every pair, \
         then {PAIRS} jobs are enqueued; median of {IN_PROCESS_RUNS} fresh databases (runs: {} s).",
        fmt(&install)
    ));
    report.note(format!(
        "csv_import_10k: `plan_import` + `import` of a {PAIRS}-row CSV with the app installed, so every new pair is also marked and enqueued; \
         median of {IN_PROCESS_RUNS} (runs: {} s). The same import with the app not installed (nothing to enqueue): {} s.",
        fmt(&import_queued),
        fmt(&import_quiet)
    ));
}
