//! The words of each alert: plain text, from names, counts and times; never a secret.

use crate::db::alerts::{ConditionRow, FailedPair, Message, MessageState};
use crate::db::time::local_text;
use crate::domain::{AlertKind, Condition, Slug};
use crate::settings::Settings;

/// At most this many people are named in one message about failed pairs.
pub const PEOPLE_PER_MESSAGE: usize = 20;

/// The longest reason quoted for one person.
const REASON_CHARS: usize = 160;

/// How an app is called in messages: its name from the catalogue, else its slug.
fn app_name(settings: &Settings, app: Option<&Slug>) -> String {
    match app {
        Some(slug) => settings
            .app(slug.as_str())
            .map(|a| a.name.clone())
            .unwrap_or_else(|| slug.to_string()),
        None => String::new(),
    }
}

/// The dashboard page to open, when the public URL can be shown (no user info, no query).
fn link(settings: &Settings, app: Option<&Slug>) -> Option<String> {
    let base = url::Url::parse(&settings.server.public_url).ok()?;
    if !base.username().is_empty() || base.password().is_some() || base.query().is_some() {
        return None;
    }
    let root = settings.server.public_url.trim_end_matches('/');
    Some(match app {
        Some(slug) => format!("{root}/apps/{slug}"),
        None => format!("{root}/"),
    })
}

fn cut(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        clean
    } else {
        format!("{}…", clean.chars().take(max).collect::<String>())
    }
}

fn people(n: usize) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}

fn with_link(mut body: String, settings: &Settings, app: Option<&Slug>) -> String {
    if let Some(url) = link(settings, app) {
        body.push_str(&format!("\n\n{url}"));
    }
    body
}

/// The message naming pairs of `app` that became failed: the first of the condition
/// (`Raised`) or a later batch (`Update`).
pub fn failures(
    settings: &Settings,
    app: &Slug,
    state: MessageState,
    listed: &[FailedPair],
    new: usize,
    failed_now: i64,
    now: i64,
) -> Message {
    let name = app_name(settings, Some(app));
    let title = match state {
        MessageState::Update => format!(
            "{name}: {new} more {} failed",
            if new == 1 { "person" } else { "people" }
        ),
        _ => format!("{name}: {} failed", people(new)),
    };
    let accounts = if new == 1 {
        "The account"
    } else {
        "The accounts"
    };
    let mut body = format!(
        "{accounts} of {} in {name} could not be brought in step; accessboard will not retry by itself:\n",
        people(new)
    );
    for p in listed {
        body.push_str(&format!("- {} ({})", cut(&p.name, 100), cut(&p.email, 100)));
        if let Some(why) = &p.message {
            body.push_str(&format!(": {}", cut(why, REASON_CHARS)));
        }
        body.push('\n');
    }
    if new > listed.len() {
        body.push_str(&format!("and {} more.\n", new - listed.len()));
    }
    body.push_str(&format!(
        "\nFailed in {name} now: {failed_now}. Fix the cause, then press Retry on the app's page or run `accessboard provision retry --app {app}`."
    ));
    Message {
        kind: AlertKind::PairsFailed,
        app: Some(app.clone()),
        state,
        title,
        body: with_link(body, settings, Some(app)),
        at: now,
    }
}

/// The title of a condition, raised or resolved.
fn title(kind: AlertKind, name: &str, resolved: bool) -> String {
    match (kind, resolved) {
        (AlertKind::PairsFailed, false) => format!("{name}: pairs failed"),
        (AlertKind::PairsFailed, true) => format!("Resolved: no failed pairs in {name} any more"),
        (AlertKind::Drift, false) => format!("{name}: drift found"),
        (AlertKind::Drift, true) => format!("Resolved: {name} is in step again"),
        (AlertKind::IdentitySyncHeldBack, false) => "Identity sync held back".into(),
        (AlertKind::IdentitySyncHeldBack, true) => "Resolved: the identity sync runs again".into(),
        (AlertKind::AppQuarantined, false) => format!("{name} is quarantined"),
        (AlertKind::AppQuarantined, true) => format!("Resolved: {name} left quarantine"),
        (AlertKind::RevocationGuard, false) => format!("{name}: revocations paused by the guard"),
        (AlertKind::RevocationGuard, true) => format!("Resolved: {name}'s revocations go ahead"),
    }
}

/// What an admin can do, per kind.
fn advice(kind: AlertKind, app: Option<&Slug>) -> String {
    let slug = app.map(Slug::as_str).unwrap_or("SLUG");
    match kind {
        AlertKind::PairsFailed => String::new(),
        AlertKind::Drift => format!(
            "`accessboard provision check --app {slug}` lists the accounts; `--fix` marks them for sync."
        ),
        AlertKind::IdentitySyncHeldBack => {
            "Check identity.kratos_admin_url, or delete the people in accessboard if they really left."
                .into()
        }
        AlertKind::AppQuarantined => format!(
            "One probe runs every few minutes and the app leaves quarantine by itself when it answers; `accessboard app resume {slug}` probes now."
        ),
        AlertKind::RevocationGuard => format!(
            "Nothing is disabled or deleted in the app until an admin looks: `accessboard app resume {slug}` lets the revocations go."
        ),
    }
}

/// The message for a condition raised by `raise`.
pub fn raised(settings: &Settings, row: &ConditionRow, now: i64) -> Message {
    let c = &row.condition;
    let name = app_name(settings, c.app.as_ref());
    let mut body = format!(
        "{}\n(since {})",
        cut(&row.detail, 2_000),
        local_text(row.raised_at, &settings.server.zone)
    );
    let advice = advice(c.kind, c.app.as_ref());
    if !advice.is_empty() {
        body.push_str(&format!("\n\n{advice}"));
    }
    message(
        settings,
        c,
        MessageState::Raised,
        title(c.kind, &name, false),
        body,
        now,
    )
}

/// The message saying a condition is resolved.
pub fn resolved(settings: &Settings, row: &ConditionRow, now: i64) -> Message {
    let c = &row.condition;
    let name = app_name(settings, c.app.as_ref());
    let zone = &settings.server.zone;
    let at = row.resolved_at.unwrap_or(now);
    let mut body = format!(
        "Resolved at {} (raised at {}).",
        local_text(at, zone),
        local_text(row.raised_at, zone)
    );
    if let Some(why) = row.resolution.as_deref().filter(|r| !r.is_empty()) {
        body.push_str(&format!("\n{}", cut(why, 2_000)));
    }
    message(
        settings,
        c,
        MessageState::Resolved,
        title(c.kind, &name, true),
        body,
        now,
    )
}

fn message(
    settings: &Settings,
    c: &Condition,
    state: MessageState,
    title: String,
    body: String,
    now: i64,
) -> Message {
    Message {
        kind: c.kind,
        app: c.app.clone(),
        state,
        title,
        body: with_link(body, settings, c.app.as_ref()),
        at: now,
    }
}

/// What `accessboard alerts test` sends.
pub fn test(settings: &Settings, now: i64) -> Message {
    Message {
        // Not about any condition: the state says so, the kind is never read.
        kind: AlertKind::PairsFailed,
        app: None,
        state: MessageState::Test,
        title: "Test alert".into(),
        body: with_link(
            format!(
                "accessboard sent this test at {} (`accessboard alerts test`): this channel works.",
                local_text(now, &settings.server.zone)
            ),
            settings,
            None,
        ),
        at: now,
    }
}
