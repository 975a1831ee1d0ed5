//! Slows down guessing: failed sign-ins are counted per account and per client
//! address, and past a free allowance each further failure locks that key for
//! twice as long as the last, up to 15 minutes.
//!
//! | key | free failures per 15 minutes | then locked for |
//! | --- | --- | --- |
//! | account (the email typed, known or not) | 5 | 30 s, 60 s, 120 s … 15 min |
//! | client address (see [`super::client`]; an IPv6 address by its /64) | 20 | 30 s, 60 s, 120 s … 15 min |
//! | a browser's device cookie for that account ([`super::device`]) | 5 | 30 s, 60 s, 120 s … 15 min |
//!
//! Asking for a reset link ([`super::forgot`]) counts every request under keys of its
//! own, per email typed and per client address, with the same allowances and locks.
//! Starting a sign-in through the provider of `[sso]` ([`super::sso`]) counts every
//! start per client address, with the address' allowance: each start holds a flow in
//! memory until its callback or ten minutes, so a flood from one network cannot fill them.
//!
//! An attempt from a browser with a valid, unlocked device cookie counts against that
//! cookie alone, so a flood of guesses from elsewhere never locks out the rightful
//! admin; every other attempt counts against the account and the address. Every
//! attempt takes its slot before the password is checked; a successful sign-in clears
//! the count it took its slot from (and gives the address its slot back).

use std::net::{IpAddr, Ipv6Addr};

use super::device::Device;
use crate::db::throttle::{self as store, Throttle};
use crate::db::{Db, DbError, time};

/// Window in which failures add up.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures allowed per account per window.
pub const ACCOUNT_FREE: i64 = 5;
/// Failures allowed per client address per window.
pub const ADDRESS_FREE: i64 = 20;
/// Failures allowed per device cookie per window.
pub const DEVICE_FREE: i64 = 5;
/// The first lock.
pub const FIRST_LOCK_SECS: i64 = 30;
/// The longest lock.
pub const MAX_LOCK_SECS: i64 = 15 * 60;

/// The keys of one attempt.
#[derive(Debug, Clone)]
pub struct Keys {
    account: String,
    /// Failures allowed under `account` per window.
    account_free: i64,
    address: Option<String>,
    device: Option<String>,
}

impl Keys {
    /// Keys for the typed email, the client's address and the browser's device cookie.
    pub fn new(email: &str, address: Option<IpAddr>, device: Option<&Device>) -> Keys {
        Keys {
            account: format!("account:{}", email.trim().to_lowercase()),
            account_free: ACCOUNT_FREE,
            address: Some(address_key(address)),
            device: device.map(Device::throttle_key),
        }
    }

    /// Keys for asking a reset link ("Forgot your password?"): the typed email and the
    /// client's address, each apart from sign-in's, with the same allowances. Every
    /// request counts, known address or not, so the counts tell nothing.
    pub fn reset(email: &str, address: Option<IpAddr>) -> Keys {
        Keys {
            account: format!("reset:{}", email.trim().to_lowercase()),
            account_free: ACCOUNT_FREE,
            address: Some(format!("reset-{}", address_key(address))),
            device: None,
        }
    }

    /// Keys for re-entering one's own password while signed in (see [`super::sudo`]).
    pub fn reauth(user: uuid::Uuid) -> Keys {
        Keys {
            account: format!("reauth:{user}"),
            account_free: ACCOUNT_FREE,
            address: None,
            device: None,
        }
    }

    /// Keys for starting a sign-in through the provider: the client's address alone, under
    /// a key of its own, with the address' allowance; every start counts.
    pub fn sso_start(address: Option<IpAddr>) -> Keys {
        Keys {
            account: format!("sso-start-{}", address_key(address)),
            account_free: ADDRESS_FREE,
            address: None,
            device: None,
        }
    }
}

/// The allowance an address counts against: an IPv4 address, or an IPv6 address's /64,
/// which a single client usually holds whole (RFC 6177) and can pick addresses from.
fn address_key(address: Option<IpAddr>) -> String {
    match address.map(|a| a.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let net = u128::from(v6) & !((1u128 << 64) - 1);
            format!("ip:{}/64", Ipv6Addr::from(net))
        }
        Some(v4) => format!("ip:{v4}"),
        None => "ip:unknown".into(),
    }
}

/// Which allowance an attempt's slot was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The browser's device cookie: a browser that signed in to this account before.
    Known,
    /// The account's and the address' allowance, shared by everybody else.
    Stranger,
}

/// Takes a slot for one attempt before any password is checked: the attempt counts as a
/// failure until [`succeeded`] says otherwise. Check and count are one transaction, so
/// parallel guesses cannot all pass the check first (40 at once used to get 28 checked).
/// A valid device cookie that is not locked takes its slot from the cookie's allowance;
/// otherwise from the account's and the address' (OWASP's "untrusted clients").
/// `Err(seconds)` when locked: the attempt is not checked.
pub async fn reserve(db: &Db, keys: &Keys) -> Result<Result<Slot, i64>, DbError> {
    let keys = keys.clone();
    db.run(move |c| {
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = time::now();
        if let Some(device) = &keys.device
            && take(&tx, &[(device, DEVICE_FREE)], now)?.is_ok()
        {
            tx.commit()?;
            return Ok(Ok(Slot::Known));
        }
        let mut shared = vec![(&keys.account, keys.account_free)];
        shared.extend(keys.address.as_ref().map(|a| (a, ADDRESS_FREE)));
        let taken = take(&tx, &shared, now)?;
        tx.commit()?;
        Ok(taken.map(|()| Slot::Stranger))
    })
    .await
}

/// Counts one failure under every key unless one of them is locked (then how long).
fn take(
    tx: &rusqlite::Transaction<'_>,
    keys: &[(&String, i64)],
    now: i64,
) -> Result<Result<(), i64>, DbError> {
    let mut records = Vec::with_capacity(keys.len());
    let mut wait = 0;
    for (k, _) in keys {
        let t = store::get(tx, k)?.unwrap_or_default();
        wait = wait.max(t.locked_until - now);
        records.push(t);
    }
    if wait > 0 {
        return Ok(Err(wait));
    }
    for ((k, free), mut t) in keys.iter().zip(records) {
        if now - t.window_start > WINDOW_SECS {
            t = Throttle {
                failures: 0,
                window_start: now,
                locked_until: 0,
            };
        }
        t.failures += 1;
        let lock = lock_after(t.failures, *free);
        if lock > 0 {
            t.locked_until = now + lock;
            // a lock keeps the window open, so the next failure doubles it
            t.window_start = now;
        }
        store::put(tx, k, t, now - 24 * 3600)?;
    }
    Ok(Ok(()))
}

fn lock_after(failures: i64, free: i64) -> i64 {
    if failures <= free {
        return 0;
    }
    let doublings = (failures - free - 1).min(20) as u32;
    (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS)
}

/// After a successful sign-in: the count the slot came from is forgotten (a stranger's
/// success also gives its address the slot back). A known browser's success leaves the
/// account's count alone, so the rightful admin signing in does not reset a flood's lock.
pub async fn succeeded(db: &Db, keys: &Keys, slot: Slot) -> Result<(), DbError> {
    let keys = keys.clone();
    db.run(move |c| {
        if let Some(device) = &keys.device {
            store::clear(c, device)?;
        }
        if slot == Slot::Known {
            return Ok(());
        }
        store::clear(c, &keys.account)?;
        if let Some(address) = &keys.address
            && let Some(mut t) = store::get(c, address)?
        {
            t.failures = (t.failures - 1).max(0);
            store::put(c, address, t, time::now() - 24 * 3600)?;
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_after_the_free_allowance_and_stop_at_fifteen_minutes() {
        assert_eq!(lock_after(5, ACCOUNT_FREE), 0);
        assert_eq!(lock_after(6, ACCOUNT_FREE), 30);
        assert_eq!(lock_after(7, ACCOUNT_FREE), 60);
        assert_eq!(lock_after(8, ACCOUNT_FREE), 120);
        assert_eq!(lock_after(40, ACCOUNT_FREE), MAX_LOCK_SECS);
        assert_eq!(lock_after(20, ADDRESS_FREE), 0);
        assert_eq!(lock_after(21, ADDRESS_FREE), 30);
    }

    #[test]
    fn an_ipv6_client_counts_by_its_slash_64() {
        let key = |a: &str| address_key(Some(a.parse().unwrap()));
        assert_eq!(key("2001:db8:1:2::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::9"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:203.0.113.5"), "ip:203.0.113.5");
        assert_eq!(key("203.0.113.5"), "ip:203.0.113.5");
        assert_eq!(address_key(None), "ip:unknown");
    }
}
