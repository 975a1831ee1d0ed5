//! Password checks for requests that are not signed in yet run on a fixed pool of
//! threads with a small queue: argon2id takes 19 MiB per check, and without a bound
//! 300 parallel wrong-password posts took the process to 10 GB. Beyond the queue an
//! attempt is refused at once (429), without hashing. Each thread keeps argon2's
//! working memory from one check to the next, so resident memory stays at about one
//! check's memory per thread instead of growing with every thread that ever checked.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::oneshot;

use crate::users::password::{Scratch, verify_password_in};

/// Attempts that may wait for a thread, per lane: enough for a team signing in at once
/// (a waiting attempt holds two strings; memory is bounded by the threads, not by this).
pub const QUEUE: usize = 64;

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

#[derive(Default)]
struct Lanes {
    // Browsers that signed in here before go first.
    known: VecDeque<Job>,
    strangers: VecDeque<Job>,
}

struct Shared {
    lanes: Mutex<Lanes>,
    ready: Condvar,
}

/// The pool; cheap to clone.
#[derive(Clone)]
pub struct HashPool {
    shared: Arc<Shared>,
}

/// The queue is full: the attempt was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl HashPool {
    /// As many threads as CPUs; they live as long as the process.
    pub fn new() -> HashPool {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let shared = Arc::new(Shared {
            lanes: Mutex::new(Lanes::default()),
            ready: Condvar::new(),
        });
        for i in 0..threads {
            let shared = shared.clone();
            // A thread that cannot start leaves the others; with none, checks wait in vain
            // and the queue fills, which answers 429: the safe side.
            let _ = std::thread::Builder::new()
                .name(format!("password-check-{i}"))
                .spawn(move || work(&shared));
        }
        HashPool { shared }
    }

    /// Whether `password` matches `hash`, checked on the pool; `Busy` when the lane is full.
    pub async fn verify(&self, password: String, hash: String, known: bool) -> Result<bool, Busy> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |scratch| {
            let _ = tx.send(verify_password_in(scratch, &password, &hash));
        });
        {
            let mut lanes = self.shared.lanes.lock().unwrap_or_else(|p| p.into_inner());
            let lane = if known {
                &mut lanes.known
            } else {
                &mut lanes.strangers
            };
            if lane.len() >= QUEUE {
                return Err(Busy);
            }
            lane.push_back(job);
        }
        self.shared.ready.notify_one();
        rx.await.map_err(|_| Busy)
    }
}

impl Default for HashPool {
    fn default() -> Self {
        HashPool::new()
    }
}

fn work(shared: &Shared) {
    let mut scratch = Scratch::default();
    loop {
        let job = {
            let mut lanes = shared.lanes.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(j) = lanes
                    .known
                    .pop_front()
                    .or_else(|| lanes.strangers.pop_front())
                {
                    break j;
                }
                lanes = shared.ready.wait(lanes).unwrap_or_else(|p| p.into_inner());
            }
        };
        job(&mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn checks_run_and_a_full_lane_is_refused_at_once() {
        let pool = HashPool::new();
        let hash = crate::users::hash_password("correct horse battery").unwrap();
        assert_eq!(
            pool.verify("correct horse battery".into(), hash.clone(), false)
                .await,
            Ok(true)
        );
        assert_eq!(
            pool.verify("wrong wrong wrong".into(), hash.clone(), false)
                .await,
            Ok(false)
        );
        let many = (0..400).map(|_| pool.verify("wrong wrong wrong".into(), hash.clone(), false));
        let results = futures::future::join_all(many).await;
        let busy = results.iter().filter(|r| **r == Err(Busy)).count();
        assert!(busy >= 400 - QUEUE - 8, "{busy} of 400 refused");
        // A known browser has its own lane.
        assert_eq!(
            pool.verify("correct horse battery".into(), hash, true)
                .await,
            Ok(true)
        );
    }
}
