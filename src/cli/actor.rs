//! Who runs the command line, for the audit trail.

use crate::domain::Actor;

/// The command line's actor: the OS user from `$USER`, `$LOGNAME` or `$USERNAME`,
/// else the process's uid (`uid 0` under `docker exec` or cron, where none is set).
pub fn actor() -> Actor {
    let named = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()));
    Actor::cli_as(named.unwrap_or_else(|| match uid() {
        Some(uid) => format!("uid {uid}"),
        None => "unknown".into(),
    }))
}

/// The real uid from `/proc/self/status` (`Uid:\treal\teffective\t…`); without libc,
/// and `None` where there is no procfs.
fn uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
