//! The one pass from an account of a listing to its class: pure, no I/O.
//!
//! The same rules as a person's lookup (`proof.rs`): our `externalId` proves an account,
//! the id stored on a pair names it, else userName and emails match a person, ignoring
//! case; a userName that is someone's email counts as that person's.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::columns::RowExt;
use crate::domain::{AccountClass, Role};
use crate::provisioning::engine::render_for;

/// One person here, as far as discovery needs them.
#[derive(Debug, Clone)]
pub struct Person {
    /// Their id (our `externalId`).
    pub id: Uuid,
    /// Their email as entered.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Being deleted.
    pub deleted: bool,
    /// Their role in the app (`None` without a pair).
    pub role: Role,
    /// The account id stored on their pair.
    pub scim_id: Option<String>,
}

impl Person {
    /// Whether they have access to the app now.
    pub fn has_access(&self) -> bool {
        !self.deleted && self.role != Role::None
    }
}

/// The people here and one app's pairs, indexed for classification.
#[derive(Debug, Default)]
pub struct Locals {
    /// Everyone, deleted included.
    pub people: Vec<Person>,
    by_uuid: HashMap<Uuid, usize>,
    by_scim_id: HashMap<String, usize>,
    // Lower-cased email, rendered userName and last confirmed userName of the living.
    by_key: HashMap<String, Vec<usize>>,
    /// The accounts of the app left unmanaged.
    pub unmanaged: HashSet<String>,
    /// A digest of all of the above: the app's state a plan was made against.
    pub stamp: String,
}

/// What the listing says of one account, before it is classified.
pub struct Seen<'a> {
    /// The app's id.
    pub id: &'a str,
    /// Its userName.
    pub user_name: &'a str,
    /// Its emails.
    pub emails: &'a [String],
    /// Its `externalId`, when not empty.
    pub external_id: Option<&'a str>,
    /// Whether it may sign in (an app that omits `active` means yes).
    pub active: bool,
}

/// One account's class, with the person it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The class.
    pub class: AccountClass,
    /// The person (index into `Locals::people`) it is, or may be.
    pub person: Option<usize>,
    /// Everyone it may be, when ambiguous.
    pub candidates: Vec<usize>,
    /// Proved by our `externalId` or the stored id, not only by the matching rules.
    pub proved: bool,
}

impl Verdict {
    fn of(class: AccountClass, person: Option<usize>, proved: bool) -> Verdict {
        Verdict {
            class,
            person,
            candidates: person.into_iter().collect(),
            proved,
        }
    }
}

impl Locals {
    /// Reads everyone, the app's pairs and its unmanaged accounts in one transaction.
    pub fn load(c: &mut Connection, app: &str, template: &str) -> Result<Locals, DbError> {
        let tx = c.transaction()?;
        let mut people = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT u.id, u.email, u.name, u.deleted_at IS NOT NULL,
                        coalesce(a.role, 'none'), a.scim_id, a.scim_user_name
                 FROM users u LEFT JOIN app_access a ON a.user_id = u.id AND a.app_slug = ?1
                 ORDER BY u.id",
            )?;
            let rows = stmt.query_map([app], |r| {
                Ok((
                    Person {
                        id: r.typed(0, "users")?,
                        email: r.get(1)?,
                        name: r.get(2)?,
                        deleted: r.get(3)?,
                        role: r.typed(4, "app_access")?,
                        scim_id: r.get(5)?,
                    },
                    r.get::<_, Option<String>>(6)?,
                ))
            })?;
            for row in rows {
                people.push(row?);
            }
        }
        let unmanaged = crate::db::unmanaged::ids(&tx, app)?;
        let stamp = crate::db::unmanaged::stamp(&tx, app)?;
        tx.commit()?;
        Ok(Locals {
            stamp,
            ..Locals::new(people, unmanaged, template)
        })
    }

    /// Indexes `people` (each with the userName the app last confirmed, if any).
    pub fn new(
        people: Vec<(Person, Option<String>)>,
        unmanaged: HashSet<String>,
        template: &str,
    ) -> Locals {
        let mut out = Locals::default();
        for (at, (p, confirmed)) in people.into_iter().enumerate() {
            out.by_uuid.insert(p.id, at);
            if let Some(id) = &p.scim_id {
                out.by_scim_id.insert(id.clone(), at);
            }
            if !p.deleted {
                let rendered = render_for(template, p.id, &p.email, &p.name);
                let mut keys = vec![p.email.to_lowercase(), rendered.to_lowercase()];
                keys.extend(confirmed.map(|c| c.to_lowercase()));
                keys.sort();
                keys.dedup();
                for k in keys {
                    out.by_key.entry(k).or_default().push(at);
                }
            }
            out.people.push(p);
        }
        out.unmanaged = unmanaged;
        out
    }

    /// The index of a living person by email (any case).
    pub fn by_email(&self, email: &str) -> Option<usize> {
        let wanted = email.to_lowercase();
        self.by_key
            .get(&wanted)?
            .iter()
            .copied()
            .find(|&p| self.people[p].email.to_lowercase() == wanted)
    }

    /// Classifies one account on its own; [`settle_shared`] then finds the people two
    /// accounts match.
    pub fn classify(&self, a: &Seen) -> Verdict {
        let verdict = self.match_account(a);
        if self.unmanaged.contains(a.id) {
            // Nobody's until linked; who it may be is kept, so it can be.
            return Verdict {
                class: AccountClass::Unmanaged,
                person: None,
                proved: false,
                candidates: verdict.candidates,
            };
        }
        verdict
    }

    /// The class by the matching rules alone.
    fn match_account(&self, a: &Seen) -> Verdict {
        if let Some(ours) = a.external_id.and_then(|x| Uuid::parse_str(x).ok()) {
            return match self.by_uuid.get(&ours) {
                Some(&p) => self.proved(p, a.active),
                // Someone gone for good.
                None if a.active => Verdict::of(AccountClass::LeftBehind, None, true),
                None => Verdict::of(AccountClass::Unknown, None, true),
            };
        }
        if let Some(&p) = self.by_scim_id.get(a.id) {
            return self.proved(p, a.active);
        }
        let mut found: Vec<usize> = Vec::new();
        let keys = std::iter::once(a.user_name).chain(a.emails.iter().map(String::as_str));
        for key in keys {
            if let Some(ps) = self.by_key.get(&key.to_lowercase()) {
                found.extend(ps);
            }
        }
        found.sort_unstable();
        found.dedup();
        match found.as_slice() {
            [] => Verdict::of(AccountClass::Unknown, None, false),
            [p] if self.people[*p].has_access() => {
                Verdict::of(AccountClass::Linked, Some(*p), false)
            }
            [p] => Verdict::of(AccountClass::MatchesWithoutAccess, Some(*p), false),
            _ => Verdict {
                class: AccountClass::Ambiguous,
                person: None,
                candidates: found,
                proved: false,
            },
        }
    }

    /// An account proved to be person `p`'s.
    fn proved(&self, p: usize, active: bool) -> Verdict {
        let person = &self.people[p];
        if person.has_access() {
            Verdict::of(AccountClass::Linked, Some(p), true)
        } else if active {
            Verdict::of(AccountClass::LeftBehind, Some(p), true)
        } else if person.deleted {
            Verdict::of(AccountClass::Unknown, Some(p), true)
        } else {
            Verdict::of(AccountClass::MatchesWithoutAccess, Some(p), true)
        }
    }
}

/// Makes ambiguous every account matched only by the rules to a person another account
/// also matches: the admin picks which one is theirs.
pub fn settle_shared(verdicts: &mut [Verdict]) {
    let mut per_person: HashMap<usize, u32> = HashMap::new();
    for v in verdicts.iter() {
        if let (Some(p), AccountClass::Linked | AccountClass::MatchesWithoutAccess) =
            (v.person, v.class)
        {
            *per_person.entry(p).or_default() += 1;
        }
    }
    for v in verdicts.iter_mut() {
        let shared = v.person.is_some_and(|p| per_person.get(&p) > Some(&1));
        if shared
            && !v.proved
            && matches!(
                v.class,
                AccountClass::Linked | AccountClass::MatchesWithoutAccess
            )
        {
            v.class = AccountClass::Ambiguous;
            v.person = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(email: &str, role: Role, deleted: bool, scim_id: Option<&str>) -> Person {
        Person {
            id: Uuid::new_v4(),
            email: email.into(),
            name: email.into(),
            deleted,
            role,
            scim_id: scim_id.map(str::to_owned),
        }
    }

    fn locals(people: Vec<Person>) -> Locals {
        Locals::new(
            people.into_iter().map(|p| (p, None)).collect(),
            HashSet::from(["u-9".to_owned()]),
            "{email}",
        )
    }

    fn seen<'a>(
        id: &'a str,
        name: &'a str,
        emails: &'a [String],
        ext: Option<&'a str>,
    ) -> Seen<'a> {
        Seen {
            id,
            user_name: name,
            emails,
            external_id: ext,
            active: true,
        }
    }

    #[test]
    fn each_class_from_the_same_rules_as_a_lookup() {
        let ada = person("ada@example.org", Role::User, false, None);
        let bob = person("bob@example.org", Role::None, false, None);
        let gone = person("gone@example.org", Role::User, true, Some("7"));
        let ada_id = ada.id.to_string();
        let l = locals(vec![ada, bob, gone]);
        let none: Vec<String> = Vec::new();
        let class = |s: &Seen| l.classify(s).class;
        assert_eq!(
            class(&seen("1", "x", &none, Some(&ada_id))),
            AccountClass::Linked
        );
        assert_eq!(
            class(&seen("2", "ADA@example.org", &none, None)),
            AccountClass::Linked
        );
        let bob_mail = vec!["Bob@Example.org".to_owned()];
        assert_eq!(
            class(&seen("3", "bobby", &bob_mail, None)),
            AccountClass::MatchesWithoutAccess
        );
        assert_eq!(
            class(&seen("4", "carol", &none, None)),
            AccountClass::Unknown
        );
        assert_eq!(
            class(&seen("7", "gone", &none, None)),
            AccountClass::LeftBehind
        );
        let stranger = Uuid::new_v4().to_string();
        assert_eq!(
            class(&seen("5", "x", &none, Some(&stranger))),
            AccountClass::LeftBehind
        );
        assert_eq!(
            class(&seen("u-9", "ada@example.org", &none, None)),
            AccountClass::Unmanaged
        );
        // A userName that is one person's email and an email that is another's.
        assert_eq!(
            class(&seen("6", "ada@example.org", &bob_mail, None)),
            AccountClass::Ambiguous
        );
    }

    #[test]
    fn an_unmanaged_account_is_nobodys_but_remembers_who_it_may_be() {
        let ada = person("ada@example.org", Role::User, false, None);
        let l = locals(vec![ada]);
        let v = l.classify(&seen("u-9", "ada@example.org", &[], None));
        assert_eq!(v.class, AccountClass::Unmanaged);
        assert_eq!((v.person, v.candidates), (None, vec![0]));
    }

    #[test]
    fn two_accounts_of_one_person_are_ambiguous_unless_one_is_proved() {
        let ada = person("ada@example.org", Role::User, false, None);
        let ada_id = ada.id.to_string();
        let l = locals(vec![ada]);
        let mail = vec!["ada@example.org".to_owned()];
        let mut vs = vec![
            l.classify(&seen("1", "ada", &mail, None)),
            l.classify(&seen("2", "ADA@example.org", &[], None)),
        ];
        settle_shared(&mut vs);
        assert!(vs.iter().all(|v| v.class == AccountClass::Ambiguous));
        let mut vs = vec![
            l.classify(&seen("1", "ada", &mail, Some(&ada_id))),
            l.classify(&seen("2", "ADA@example.org", &[], None)),
        ];
        settle_shared(&mut vs);
        assert_eq!(vs[0].class, AccountClass::Linked);
        assert_eq!(vs[1].class, AccountClass::Ambiguous);
    }
}
