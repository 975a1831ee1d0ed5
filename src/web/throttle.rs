//! Slows down guessing: failed sign-ins are counted per account and per client
//! address, and past a free allowance each further failure locks that key for
//! twice as long as the last, up to 15 minutes.
//!
//! | key | free failures per 15 minutes | then locked for |
//! | --- | --- | --- |
//! | account (the email typed, known or not) | 5 | 30 s, 60 s, 120 s … 15 min |
//! | client address (the TCP peer) | 20 | 30 s, 60 s, 120 s … 15 min |
//!
//! Every attempt takes its slot before the password is checked; a successful sign-in
//! clears the account's count and gives its address its slot back.

use crate::db::throttle::{self as store, Throttle};
use crate::db::{Db, DbError, time};

/// Window in which failures add up.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures allowed per account per window.
pub const ACCOUNT_FREE: i64 = 5;
/// Failures allowed per client address per window.
pub const ADDRESS_FREE: i64 = 20;
/// The first lock.
pub const FIRST_LOCK_SECS: i64 = 30;
/// The longest lock.
pub const MAX_LOCK_SECS: i64 = 15 * 60;

/// The keys of one attempt.
#[derive(Debug, Clone)]
pub struct Keys {
    account: String,
    address: String,
}

impl Keys {
    /// Keys for the typed email and the client's address.
    pub fn new(email: &str, address: &str) -> Keys {
        Keys {
            account: format!("account:{}", email.trim().to_lowercase()),
            address: format!("ip:{address}"),
        }
    }
}

/// Takes a slot for one attempt under both keys, before any password is checked: the
/// attempt counts as a failure until [`succeeded`] says otherwise. Check and count are one
/// transaction, so parallel guesses cannot all pass the check first (40 at once used to
/// get 28 checked). `Err(seconds)` when a key is locked: the attempt is not checked.
pub async fn reserve(db: &Db, keys: &Keys) -> Result<Result<(), i64>, DbError> {
    let keys = keys.clone();
    db.run(move |c| {
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = time::now();
        let pairs = [(&keys.account, ACCOUNT_FREE), (&keys.address, ADDRESS_FREE)];
        let mut records = Vec::with_capacity(2);
        let mut wait = 0;
        for (k, _) in pairs {
            let t = store::get(&tx, k)?.unwrap_or_default();
            wait = wait.max(t.locked_until - now);
            records.push(t);
        }
        if wait > 0 {
            return Ok(Err(wait));
        }
        for ((k, free), mut t) in pairs.into_iter().zip(records) {
            if now - t.window_start > WINDOW_SECS {
                t = Throttle {
                    failures: 0,
                    window_start: now,
                    locked_until: 0,
                };
            }
            t.failures += 1;
            let lock = lock_after(t.failures, free);
            if lock > 0 {
                t.locked_until = now + lock;
                // a lock keeps the window open, so the next failure doubles it
                t.window_start = now;
            }
            store::put(&tx, k, t, now - 24 * 3600)?;
        }
        tx.commit()?;
        Ok(Ok(()))
    })
    .await
}

fn lock_after(failures: i64, free: i64) -> i64 {
    if failures <= free {
        return 0;
    }
    let doublings = (failures - free - 1).min(20) as u32;
    (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS)
}

/// After a successful sign-in: the account's failures are forgotten, and the slot the
/// attempt took from its address is given back.
pub async fn succeeded(db: &Db, keys: &Keys) -> Result<(), DbError> {
    let keys = keys.clone();
    db.run(move |c| {
        store::clear(c, &keys.account)?;
        if let Some(mut t) = store::get(c, &keys.address)? {
            t.failures = (t.failures - 1).max(0);
            store::put(c, &keys.address, t, time::now() - 24 * 3600)?;
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
}
