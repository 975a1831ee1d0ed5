//! The pairs of one app as they stand, for a pass that compares them with a listing.

use rusqlite::Connection;
use uuid::Uuid;

use super::state::Claim;
use crate::db::DbError;
use crate::db::columns::RowExt;
use crate::domain::{ProvisionStatus, Role};

/// One pair as stored, with what a reconcile would need (not claimed).
#[derive(Debug, Clone)]
pub struct Standing {
    /// What a claim of it would hold now.
    pub pair: Claim,
    /// Its status.
    pub status: ProvisionStatus,
}

/// Every pair of `app` that the app should know about (access, or an account id, or a
/// status other than `not_provisioned`), of an installed SCIM app.
pub fn standing(conn: &Connection, app: &str) -> Result<Vec<Standing>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT a.user_id, a.role, a.scim_id, a.desired_gen, a.attempts, a.synced_role, a.status,
                u.email, u.name, u.deleted_at IS NOT NULL, a.delete_at, a.scim_user_name
         FROM app_access a JOIN users u ON u.id = a.user_id
         WHERE a.app_slug = ?1
           AND (a.role != 'none' OR a.scim_id IS NOT NULL OR a.status != 'not_provisioned')
           AND a.app_slug IN (SELECT slug FROM apps WHERE installed = 1 AND scim_enabled = 1)",
    )?;
    let rows = stmt.query_map([app], |r| {
        let id: String = r.get(0)?;
        Ok((
            id,
            r.typed::<Role>(1, "app_access")?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.typed_opt::<Role>(5, "app_access")?,
            r.typed::<ProvisionStatus>(6, "app_access")?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, bool>(9)?,
            r.get::<_, Option<i64>>(10)?,
            r.get::<_, Option<String>>(11)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            id,
            role,
            scim_id,
            generation,
            attempts,
            synced_role,
            status,
            email,
            name,
            deleted,
            delete_at,
            scim_user_name,
        ) = row?;
        let user_id = Uuid::parse_str(&id)
            .map_err(|_| DbError::Corrupt(format!("app_access.user_id {id:?} is not a uuid")))?;
        out.push(Standing {
            pair: Claim {
                user_id,
                app: app.to_owned(),
                role,
                scim_id,
                scim_user_name,
                generation,
                attempts,
                email,
                name,
                user_deleted: deleted,
                synced_role,
                delete_at,
            },
            status,
        });
    }
    Ok(out)
}
