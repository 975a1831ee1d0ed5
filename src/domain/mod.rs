//! Plain domain types, parsed once at the edge: no HTTP, no SQL.

mod actor;
mod alert;
mod collation;
mod discovery;
mod email;
mod group;
mod provision;
mod role;
mod slug;
mod user;

pub use actor::Actor;
pub use alert::{AlertKind, Condition};
pub use collation::{CollationError, VERSION as COLLATION_VERSION, sort_key};
pub use discovery::{AccountClass, Decision};
pub use email::{Email, EmailError};
pub use group::{GroupName, GroupNameError, MAX_GROUP_NAME, Via};
pub use provision::{Deprovision, DesiredAccess, ProvisionStatus, StatusError};
pub use role::{Role, RoleError};
pub use slug::{Slug, SlugError};
pub use user::{
    Access, DashboardAccess, DashboardAccessError, NameError, NewUser, PersonName, User, UserUpdate,
};
