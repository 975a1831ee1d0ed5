//! `accessboard user list [--app SLUG] [--status STATUS] [--group NAME] [--json]`.

use super::{CliError, output};
use crate::app::App;
use crate::db::groups;
use crate::db::read::{self, UserQuery};
use crate::domain::{GroupName, ProvisionStatus, Slug};
use crate::users::ServiceError;

/// The filters of `user list`, as typed; all of them must hold.
#[derive(Debug, Default)]
pub struct Filters {
    /// Only people with a role in this app (or, with `status`, a pair there in it).
    pub app: Option<Slug>,
    /// A stored pair state, checked here so that a wrong one is a one-line usage error.
    pub status: Option<String>,
    /// Only members of this group.
    pub group: Option<GroupName>,
}

impl Filters {
    fn any(&self) -> bool {
        self.app.is_some() || self.status.is_some() || self.group.is_some()
    }
}

/// Lists the people the filters let through, as a table or one JSON array.
pub async fn run(ctx: &App, filters: Filters, json: bool) -> Result<(), CliError> {
    if let Some(app) = &filters.app
        && ctx.settings.app(app.as_str()).is_none()
    {
        return Err(ServiceError::UnknownApp(app.to_string()).into());
    }
    let pair_status = filters
        .status
        .as_deref()
        .map(ProvisionStatus::parse)
        .transpose()?;
    let filtered = filters.any();
    let (app, group) = (filters.app.map(|a| a.to_string()), filters.group);
    let rows = ctx
        .service
        .db()
        .run(move |c| {
            let group = match group {
                Some(name) => Some(
                    groups::id_by_name(c, &name.normalized())?
                        .ok_or_else(|| ServiceError::UnknownGroup(name.to_string()))?,
                ),
                None => None,
            };
            let q = UserQuery {
                app,
                pair_status,
                group,
                ..UserQuery::default()
            };
            Ok::<_, CliError>(read::users(c, &q)?.0)
        })
        .await?;
    if json {
        output::json(&rows);
    } else if rows.is_empty() && filtered {
        println!("nobody matches these filters");
    } else if rows.is_empty() {
        println!("no users yet; add one with `accessboard user create --email E --name N`");
    } else {
        let apps: Vec<String> = rows[0].access.iter().map(|c| c.app.clone()).collect();
        let mut header = vec!["EMAIL", "NAME", "DASHBOARD"];
        header.extend(apps.iter().map(String::as_str));
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|u| {
                let mut row = vec![u.email.clone(), u.name.clone(), u.dashboard.to_string()];
                row.extend(
                    u.access
                        .iter()
                        .map(|c| format!("{} ({})", c.role, c.status)),
                );
                row
            })
            .collect();
        output::table(&header, &body);
    }
    Ok(())
}
