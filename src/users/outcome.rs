//! What a change really did, counted inside its transaction, and the one place the words
//! that report it come from: the web's messages and the CLI's lines both print
//! [`Outcome::sentences`], so neither can claim more than the change did.

use std::collections::BTreeMap;

use rusqlite::{Transaction, params};
use uuid::Uuid;

use super::ServiceError;
use crate::db::columns::RowExt;
use crate::domain::Role;

/// Per app (slug), how many of one change's own pairs the revocation guard held.
pub type Held = BTreeMap<String, usize>;

/// One app's held revocations of a change, with the app's name for the message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeldIn {
    /// The app's slug.
    pub app: String,
    /// Its name.
    pub name: String,
    /// This change's revocations held there.
    pub count: usize,
}

impl HeldIn {
    /// What the hold means, in one sentence (after the change's own).
    pub fn sentence(&self) -> String {
        format!(
            "The revocation guard holds {} of this change in {}: {} is paused for revocations, and nothing is sent there until they are carried out or cancelled.",
            match self.count {
                1 => "1 revocation".to_owned(),
                n => format!("{n} revocations"),
            },
            self.name,
            self.name
        )
    }

    /// Where the dashboard lists the people held in this app.
    pub fn link(&self) -> String {
        format!("/users?app={}&status=held", self.app)
    }
}

/// Whom a change reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Reach {
    /// People given a role in one app (`none` revokes).
    Role {
        /// The app's name.
        app: String,
        /// The role asked for.
        role: Role,
    },
    /// Failed syncs tried again.
    Retry,
    /// People deleted.
    Delete,
}

/// What one change did, person by person, counted as it happened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// What the change was.
    pub reach: Reach,
    /// The person's name, when the change was one person's.
    pub person: Option<String>,
    /// Had no access and now have.
    pub gained: usize,
    /// Keep access with another role.
    pub changed: usize,
    /// Had access and now have none.
    pub lost: usize,
    /// Asked to lose access, but a group still gives it to them.
    pub kept: usize,
    /// The groups that keep it for them, by name.
    pub kept_through: Vec<String>,
    /// Nothing changed for them.
    pub unchanged: usize,
    /// Had failed syncs tried again (retry), or were deleted (delete).
    pub done: usize,
    /// Per app name, how many people's accounts there are told (retry, delete).
    pub told: BTreeMap<String, usize>,
    /// This change's revocations the guard held, per app.
    pub held: Vec<HeldIn>,
}

impl Outcome {
    /// An outcome with nothing counted yet.
    pub fn new(reach: Reach) -> Self {
        Outcome {
            reach,
            person: None,
            gained: 0,
            changed: 0,
            lost: 0,
            kept: 0,
            kept_through: Vec::new(),
            unchanged: 0,
            done: 0,
            told: BTreeMap::new(),
            held: Vec::new(),
        }
    }

    /// Counts one person's role in an app going from `before` to `after` when `asked` was
    /// asked of them; `groups` are the groups giving them a role there.
    pub fn count_role(&mut self, asked: Role, before: Role, after: Role, groups: Vec<String>) {
        if !asked.grants_access() && after.grants_access() {
            self.kept += 1;
            for g in groups {
                if !self.kept_through.contains(&g) {
                    self.kept_through.push(g);
                }
            }
            self.kept_through.sort();
            return;
        }
        let n = match (before.grants_access(), after.grants_access()) {
            _ if before == after => &mut self.unchanged,
            (true, false) => &mut self.lost,
            (false, _) => &mut self.gained,
            (true, true) => &mut self.changed,
        };
        *n += 1;
    }

    /// How many of this change's revocations the guard held, in every app.
    pub fn held_total(&self) -> usize {
        self.held.iter().map(|h| h.count).sum()
    }

    /// The sentences that report the change, in the order to show them.
    pub fn sentences(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.reach {
            Reach::Role { app, .. } if self.person.is_some() && self.kept > 0 => {
                out.push(format!(
                    "{} access to {app} through {}.",
                    self.subject(1, "keeps", "keep"),
                    groups(&self.kept_through)
                ));
            }
            Reach::Role { app, role } if !role.grants_access() => {
                let mut s = match self.lost {
                    0 if self.kept > 0 => format!("Nobody lost access to {app}"),
                    0 => String::new(),
                    n => format!("{} access to {app}", self.subject(n, "lost", "lost")),
                };
                if self.kept > 0 {
                    s.push_str(&format!(
                        "; {} it through {}",
                        count_do(self.kept, "keeps", "keep"),
                        groups(&self.kept_through)
                    ));
                }
                if !s.is_empty() {
                    out.push(format!("{s}."));
                }
            }
            Reach::Role { app, role } => {
                if self.gained > 0 {
                    out.push(format!(
                        "{} access to {app} as {}.",
                        self.subject(self.gained, "got", "got"),
                        role.as_str()
                    ));
                }
                if self.changed > 0 {
                    out.push(format!(
                        "{} role in {app}.",
                        self.subject(self.changed, "changed", "changed")
                    ));
                }
            }
            Reach::Retry if self.done > 0 => out.push(format!(
                "The failed syncs of {} are being retried in {}.",
                people(self.done),
                per_app(&self.told)
            )),
            Reach::Retry => {}
            Reach::Delete if self.person.is_some() => {
                let who = self.person.as_deref().unwrap_or_default();
                if self.told.is_empty() {
                    out.push(format!(
                        "{who} was deleted. Nothing is sent to apps: none holds an account of theirs."
                    ));
                } else {
                    out.push(format!(
                        "{who} is being removed; their account is disabled or deleted in {}.",
                        self.told.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            Reach::Delete if self.told.is_empty() => {
                out.push(format!("{} deleted.", people_do(self.done, "was", "were")));
                out.push("Nothing is sent to apps: none holds an account of theirs.".into());
            }
            Reach::Delete => out.push(format!(
                "{} being removed; their accounts are disabled or deleted in {}.",
                people_do(self.done, "is", "are"),
                per_app(&self.told)
            )),
        }
        if self.unchanged > 0 {
            let what = match self.reach {
                Reach::Retry => "had nothing to retry",
                _ => "already so",
            };
            let whom = match &self.person {
                Some(p) => p.clone(),
                None => people(self.unchanged),
            };
            out.push(format!("Nothing changed for {whom} ({what})."));
        }
        out.extend(self.held.iter().map(HeldIn::sentence));
        out
    }

    // "Ana lost" for one person's change, "3 people lost" for many.
    fn subject(&self, n: usize, one: &str, many: &str) -> String {
        match &self.person {
            Some(p) => format!("{p} {one}"),
            None => people_do(n, one, many),
        }
    }

    /// The sentences as one line.
    pub fn text(&self) -> String {
        self.sentences().join(" ")
    }
}

/// What saving one person did in apps: the apps told (by name) and what the guard held.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Saved {
    /// The apps whose accounts of theirs are being created, changed or disabled.
    pub apps: Vec<String>,
    /// The revocations of this save the guard held.
    pub held: Vec<HeldIn>,
}

impl Saved {
    /// The apps told, by name, from a change's marked pairs.
    pub(super) fn told(
        jobs: &[crate::pairs::ReconcileJob],
        names: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let mut apps: Vec<String> = jobs
            .iter()
            .map(|j| names.get(&j.app).cloned().unwrap_or_else(|| j.app.clone()))
            .collect();
        apps.sort();
        apps.dedup();
        apps
    }

    /// "Saved." and what follows in apps, in one line (after `first`).
    pub fn text(&self, first: &str) -> String {
        let mut out = vec![first.to_owned()];
        let told: Vec<&String> = self
            .apps
            .iter()
            .filter(|a| !self.held.iter().any(|h| &h.name == *a))
            .collect();
        if !told.is_empty() {
            out.push(format!(
                "{} {} being updated.",
                told.iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if told.len() == 1 { "is" } else { "are" }
            ));
        }
        out.extend(self.held.iter().map(HeldIn::sentence));
        out.join(" ")
    }
}

/// "1 person" / "3 people".
pub fn people(n: usize) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}

fn people_do(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", people(n), if n == 1 { one } else { many })
}

fn count_do(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn groups(names: &[String]) -> String {
    match names {
        [] => "their groups".into(),
        [one] => format!("the group {one}"),
        many => format!("the groups {}", many.join(", ")),
    }
}

fn per_app(told: &BTreeMap<String, usize>) -> String {
    told.iter()
        .map(|(name, n)| format!("{name} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which of the pairs a change marked (`marked`) the revocation guard held: those it did
/// not keep (`kept`), each pair once, per app.
pub(super) fn held_of(marked: Vec<(Uuid, String)>, kept: &[crate::pairs::ReconcileJob]) -> Held {
    let mut held = Held::new();
    if kept.len() == marked.len() {
        // The guard only ever drops held pairs: nothing was held.
        return held;
    }
    let kept: std::collections::HashSet<(Uuid, &str)> =
        kept.iter().map(|j| (j.user_id, j.app.as_str())).collect();
    let marked: std::collections::BTreeSet<(Uuid, String)> = marked.into_iter().collect();
    for (user, app) in marked {
        if !kept.contains(&(user, app.as_str())) {
            *held.entry(app).or_insert(0) += 1;
        }
    }
    held
}

/// A person's role in an app as stored (the effective one), `none` without a row.
pub(super) fn role_in(tx: &Transaction<'_>, user: Uuid, app: &str) -> Result<Role, ServiceError> {
    let mut stmt =
        tx.prepare_cached("SELECT role FROM app_access WHERE user_id = ?1 AND app_slug = ?2")?;
    let mut rows = stmt.query(params![user.to_string(), app])?;
    Ok(match rows.next()? {
        Some(r) => r.typed(0, "app_access")?,
        None => Role::None,
    })
}

/// The names of the groups that give a person a role in an app.
pub(super) fn granting_groups(
    tx: &Transaction<'_>,
    user: Uuid,
    app: &str,
) -> Result<Vec<String>, ServiceError> {
    let names = tx
        .prepare_cached(
            "SELECT g.name FROM group_members m
               JOIN group_grants gg ON gg.group_id = m.group_id
               JOIN access_groups g ON g.id = m.group_id
              WHERE m.user_id = ?1 AND gg.app_slug = ?2 ORDER BY g.name_norm",
        )?
        .query_map(params![user.to_string(), app], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revoked() -> Outcome {
        Outcome::new(Reach::Role {
            app: "Nextcloud".into(),
            role: Role::None,
        })
    }

    #[test]
    fn people_who_keep_access_through_a_group_are_named_as_such() {
        let mut o = revoked();
        for _ in 0..14 {
            o.count_role(Role::None, Role::User, Role::None, vec![]);
        }
        for _ in 0..6 {
            o.count_role(Role::None, Role::User, Role::User, vec!["design".into()]);
        }
        assert_eq!(
            o.text(),
            "14 people lost access to Nextcloud; 6 keep it through the group design."
        );
    }

    #[test]
    fn held_revocations_count_the_change_own_people() {
        let mut o = revoked();
        o.count_role(Role::None, Role::User, Role::None, vec![]);
        o.held.push(HeldIn {
            app: "nextcloud".into(),
            name: "Nextcloud".into(),
            count: 1,
        });
        assert!(
            o.text().starts_with(
                "1 person lost access to Nextcloud. The revocation guard holds 1 revocation of this change in Nextcloud"
            ),
            "{}",
            o.text()
        );
        assert_eq!(o.held[0].link(), "/users?app=nextcloud&status=held");
    }

    #[test]
    fn a_delete_that_reaches_no_app_says_nothing_is_sent() {
        let mut o = Outcome::new(Reach::Delete);
        o.done = 1;
        assert_eq!(
            o.text(),
            "1 person was deleted. Nothing is sent to apps: none holds an account of theirs."
        );
    }
}
