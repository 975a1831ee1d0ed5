//! The person form's values: as typed or as stored, parsed into domain types,
//! with one error per field (so the form comes back keeping what was typed).

use actix_web::web;

use crate::db::read::{AppRow, UserRow};
use crate::domain::{DashboardAccess, Email, PersonName, Role, Slug};
use crate::users::ServiceError;
use crate::users::password as auth;
use crate::web::{WebError, sudo};

/// Per app, the names of the person's groups their role there comes from (stored state,
/// shown beside their own role).
pub(super) type Giving = std::collections::HashMap<String, Vec<String>>;

/// What the form holds: as typed, or as stored. No `Debug`: it holds passwords.
#[derive(Clone, Default)]
pub(super) struct Values {
    pub(super) name: String,
    pub(super) email: String,
    pub(super) admin: DashboardAccess,
    pub(super) password: String,
    /// The signed-in admin's own password, for sensitive changes ([`sudo`]).
    pub(super) current_password: String,
    pub(super) roles: Vec<(String, Role)>,
}

/// One message per field that needs correcting.
#[derive(Debug, Default)]
pub(super) struct Errors {
    pub(super) name: Option<String>,
    pub(super) email: Option<String>,
    pub(super) admin: Option<String>,
    pub(super) password: Option<String>,
    pub(super) current_password: Option<String>,
}

impl Errors {
    /// Whether any field needs correcting.
    pub(super) fn any(&self) -> bool {
        self.name.is_some()
            || self.email.is_some()
            || self.admin.is_some()
            || self.password.is_some()
            || self.current_password.is_some()
    }
}

/// The values as posted; a role that is not one counts as none.
pub(super) fn from_form(fields: &[(String, String)], apps: &[AppRow]) -> Values {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Values {
        name: get("name").unwrap_or_default(),
        email: get("email").unwrap_or_default(),
        // "on" is what the form's checkbox sent before viewers existed.
        admin: match get("admin").as_deref() {
            Some("on") => DashboardAccess::Admin,
            Some(v) => DashboardAccess::parse(v).unwrap_or_default(),
            None => DashboardAccess::None,
        },
        password: get("password").unwrap_or_default(),
        current_password: get(sudo::FIELD).unwrap_or_default(),
        roles: apps
            .iter()
            .map(|a| {
                let role = get(&format!("role.{}", a.slug))
                    .and_then(|r| Role::parse(&r).ok())
                    .unwrap_or(Role::None);
                (a.slug.clone(), role)
            })
            .collect(),
    }
}

/// The values as stored, passwords empty.
pub(super) fn from_user(u: &UserRow) -> Values {
    Values {
        name: u.name.clone(),
        email: u.email.clone(),
        admin: u.dashboard,
        password: String::new(),
        current_password: String::new(),
        roles: u.access.iter().map(|c| (c.app.clone(), c.direct)).collect(),
    }
}

/// The fields that parsed; `None` where [`Errors`] holds the reason.
pub(super) struct Parsed {
    pub(super) name: Option<PersonName>,
    pub(super) email: Option<Email>,
    pub(super) hash: Option<String>,
}

/// Parses the values, hashing a new password off the async threads.
pub(super) async fn validate(v: &Values, e: &mut Errors) -> Result<Parsed, WebError> {
    let name = PersonName::parse(&v.name)
        .map_err(|x| e.name = Some(x.to_string()))
        .ok();
    let email = Email::parse(&v.email)
        .map_err(|x| e.email = Some(x.to_string()))
        .ok();
    let mut hash = None;
    if !v.password.is_empty() {
        if !v.admin.signs_in() {
            e.password = Some(
                "only people who can sign in here have a password; choose who may sign in here or leave this empty".into(),
            );
        } else {
            let pw = v.password.clone();
            match web::block(move || auth::hash_password(&pw))
                .await
                .map_err(|x| WebError::Internal(x.to_string()))?
            {
                Ok(h) => hash = Some(h),
                Err(x) => e.password = Some(x),
            }
        }
    }
    Ok(Parsed { name, email, hash })
}

/// Service refusals the form can show next to the email; anything else is an error page.
pub(super) fn email_error(err: ServiceError, e: &mut Errors) -> Result<(), WebError> {
    match err {
        ServiceError::ChangedMeanwhile(_) => {
            e.admin = Some(err.to_string());
            Ok(())
        }
        ServiceError::EmailTaken(_) | ServiceError::BeingRemoved(_) => {
            e.email = Some(err.to_string());
            Ok(())
        }
        // The form comes back as typed, so nothing is lost while Kratos is away.
        ServiceError::Identity(_) => {
            e.email = Some(format!("Nothing was saved: {err}. Try again in a moment."));
            Ok(())
        }
        other => Err(other.into()),
    }
}

/// The roles per app, for the service.
pub(super) fn roles_of(v: &Values) -> Vec<(Slug, Role)> {
    v.roles
        .iter()
        .filter_map(|(s, r)| Slug::parse(s).ok().map(|s| (s, *r)))
        .collect()
}
