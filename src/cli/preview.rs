//! What `--dry-run` prints: the effect a change would have, in one sentence.

use crate::domain::{Email, Slug};
use crate::users::{Effect, GuardWarning};

/// What `--force` does, after the guard's warning in a dry run.
const PASS_FORCE: &str = "pass --force to carry them out";

/// One line per app where the revocation guard would hold the change (`--dry-run`).
pub fn guard(warnings: &[GuardWarning]) -> Vec<String> {
    warnings
        .iter()
        .map(|w| format!("dry run: {}", w.sentence(PASS_FORCE)))
        .collect()
}

/// `user access EMAIL APP ROLE --dry-run`.
pub fn access(email: &Email, app: &Slug, effect: &Effect) -> String {
    let what = match effect {
        Effect::Gains(r) => format!("{email} would get {r} in {app}"),
        Effect::Loses => format!(
            "{email} would lose access to {app} (their account there is disabled or deleted)"
        ),
        Effect::Changes { from, to } => format!("{email} would go from {from} to {to} in {app}"),
        // Their role there stays (what they have already, or what their groups give).
        Effect::Unchanged => format!("{email}'s access to {app} would not change"),
        Effect::Retries(_) | Effect::Deleted(_) | Effect::Joins(_) | Effect::Leaves(_) => {
            format!("{email}'s access to {app} would not change")
        }
    };
    format!("dry run: {what}; nothing was changed")
}

/// `user delete EMAIL --dry-run`.
pub fn delete(email: &Email, effect: &Effect) -> String {
    let what = match effect {
        Effect::Deleted(apps) if apps.is_empty() => {
            format!("{email} would be deleted; no app holds an account of theirs")
        }
        Effect::Deleted(apps) => format!(
            "{email} would be deleted; {} would be told: {}",
            apps_count(apps.len()),
            apps.join(", ")
        ),
        _ => format!("{email} would be deleted"),
    };
    format!("dry run: {what}; nothing was changed")
}

fn apps_count(n: usize) -> String {
    if n == 1 {
        "1 app".into()
    } else {
        format!("{n} apps")
    }
}
