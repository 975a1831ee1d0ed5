//! SCIM 2.0 client (RFC 7643/7644): models, errors, discovery and operations; knows nothing of the database.

mod client;
pub mod config;
pub mod dialect;
mod discovery;
mod error;
mod groups;
mod index;
mod lookup;
pub mod models;
mod redact;
mod session;
mod stream;
mod token;
mod trace;
mod wait;

pub use client::{CAPABILITIES_TTL, MAX_RESPONSE_BYTES, ScimCall, ScimClient};
pub use config::{SCIM_MEDIA_TYPE, ScimAuth, ScimConfig, Secret, TokenAuth};
pub use dialect::{FilterTrust, FilterTrusts, Learned, RemovalForm};
pub use discovery::Capabilities;
pub use error::{ErrorKind, ScimError, classify_status};
pub use groups::{MemberChange, PushedGroup};
pub use index::{AccountIndex, Wanted};
pub use lookup::{UserKey, eq_filter};
pub use models::{
    Email, ListResponse, Member, Meta, Name, PatchOp, PatchOperation, ScimGroup, ScimUser,
};
pub use session::{CallObserver, ScimSession};
pub use token::FAILURE_MEMORY as TOKEN_FAILURE_MEMORY;
pub use trace::TracedCall;
pub use wait::{MAX_ANNOUNCED_WAIT, announced_wait, parse_reset, parse_retry_after};
