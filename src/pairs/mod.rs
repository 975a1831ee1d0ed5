//! The one owner of pair state: what each (user, app) pair should be and where it stands.
//!
//! Marking pairs, bumping generations, turning rows into jobs, claiming and settling
//! attempts all live here. `users` (the admin's changes), `provisioning` (the workers)
//! and the identity sync all go through this module; it depends only on `db` and `domain`.

mod attempt;
mod mark;
pub mod queue;
pub mod rails;
mod snapshot;
mod state;
mod sweep;

pub use attempt::{LogEntry, outcome_of};
pub use mark::{
    Pairs, count_marked, forget_confirmed_role, initial_status, jobs_of_users, mark_for_sync,
    purge_removed_users, unmanage,
};
pub use queue::{JobQueue, ReconcileJob};
pub use snapshot::{Standing, standing};
pub use state::{Claim, Finished, Settle, claim, claim_many, finish, finish_many, finish_with_log};
pub use sweep::{
    Progress, due_pairs, due_pairs_of, give_back, heartbeat, mark_due_deletions, progress,
    reclaim_orphans, release,
};
