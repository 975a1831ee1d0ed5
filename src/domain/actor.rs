//! Who makes a change, for the audit trail.

use std::fmt;

/// Who acts: a signed-in admin, the command line, or accessboard itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Actor {
    /// A dashboard admin, by email.
    Admin(String),
    /// The command line, run by this OS user.
    Cli {
        /// `$USER` or `$LOGNAME`, else `uid N` from the process's real uid.
        os_user: String,
    },
    /// accessboard itself (sweeper, identity sync, start-up).
    #[default]
    System,
}

impl Actor {
    /// The command line, run by `os_user` (found by `cli::actor`: domain does no I/O).
    pub fn cli_as(os_user: impl Into<String>) -> Actor {
        Actor::Cli {
            os_user: os_user.into(),
        }
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
