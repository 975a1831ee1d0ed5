//! Slows down guessing: failed sign-ins are counted per account and per client
//! address, and past a free allowance each further failure locks that key for
//! twice as long as the last, up to 15 minutes.
//!
//! | key | free failures per 15 minutes | then locked for |
//! | --- | --- | --- |
//! | account (the email typed, known or not) | 5 | 30 s, 60 s, 120 s … 15 min |
//! | client address (the TCP peer) | 20 | 30 s, 60 s, 120 s … 15 min |
//!
//! A successful sign-in clears the account's count (not the address's).

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

/// Seconds until either key may try again; 0 when it may now.
pub async fn wait_secs(db: &Db, keys: &Keys) -> Result<i64, DbError> {
    let keys = keys.clone();
    db.run(move |c| {
        let now = time::now();
        let mut wait = 0;
        for k in [&keys.account, &keys.address] {
            if let Some(t) = store::get(c, k)? {
                wait = wait.max(t.locked_until - now);
            }
        }
        Ok(wait.max(0))
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

/// Records a failed attempt under both keys.
pub async fn failed(db: &Db, keys: &Keys) -> Result<(), DbError> {
    let keys = keys.clone();
    db.run(move |c| {
        let now = time::now();
        for (k, free) in [(&keys.account, ACCOUNT_FREE), (&keys.address, ADDRESS_FREE)] {
            let mut t = store::get(c, k)?.unwrap_or_default();
            if now - t.window_start > WINDOW_SECS && t.locked_until <= now {
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
            store::put(c, k, t, now - 24 * 3600)?;
        }
        Ok(())
    })
    .await
}

/// Clears the account's failures after a successful sign-in.
pub async fn succeeded(db: &Db, keys: &Keys) -> Result<(), DbError> {
    let key = keys.account.clone();
    db.run(move |c| store::clear(c, &key)).await
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
