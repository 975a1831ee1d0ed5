//! Who makes a change, for the audit trail.

use std::fmt;

/// Who acts: a signed-in admin, the command line, or accessboard itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Actor {
    /// A dashboard admin, by email.
    Admin(String),
    /// The command line, run by this OS user.
    Cli {
        /// `$USER` or `$LOGNAME`, or `unknown`.
        os_user: String,
    },
    /// accessboard itself (sweeper, identity sync, start-up).
    #[default]
    System,
}

impl Actor {
    /// The command line, with the OS user from `$USER` or `$LOGNAME`.
    pub fn cli() -> Actor {
        let os_user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            .unwrap_or_else(|| "unknown".into());
        Actor::Cli { os_user }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Admin(email) => f.write_str(email),
            Actor::Cli { os_user } => {
                let clean: String = os_user
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(64)
                    .collect();
                write!(f, "cli ({clean})")
            }
            Actor::System => f.write_str("system"),
        }
    }
}
