//! How an app is doing, in a word on its `/apps` card and in a sentence on its page:
//! paused, quarantined, unreachable (every request failing), failing, working.
//! It reads what the overview and the rails already keep (`db::overview::apps`,
//! `db::rails`), so every page tells the same story.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use maud::{Markup, html};
use rusqlite::Connection;

use crate::db::DbError;
use crate::db::overview::{self, AppSummary, Health};
use crate::db::rails::{self, AppRails, Pause};
use crate::web::times::when;

/// One installed app's provisioning health and rails, read together.
pub struct AppHealth {
    summary: AppSummary,
    rails: Option<AppRails>,
}

/// The state that decides the badge, most pressing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Paused,
    PausedRevocations,
    Quarantined,
    Unreachable,
    Failing,
    Working,
    Idle,
    NoScim,
}

impl AppHealth {
    fn word(&self) -> Word {
        let rails = self.rails.as_ref();
        match rails.and_then(|r| r.paused) {
            Some(Pause::All) => return Word::Paused,
            Some(Pause::Revocations) => return Word::PausedRevocations,
            None => {}
        }
        if rails.is_some_and(AppRails::quarantined) {
            Word::Quarantined
        } else if rails.is_some_and(|r| r.failing_since.is_some()) {
            Word::Unreachable
        } else if !self.summary.scim {
            Word::NoScim
        } else {
            match self.summary.health {
                Health::Failing => Word::Failing,
                Health::Working => Word::Working,
                Health::Idle => Word::Idle,
            }
        }
    }

    /// Whether an admin paused the app entirely (so the page offers Resume, not Pause).
    pub fn paused(&self) -> bool {
        self.rails.as_ref().is_some_and(|r| r.paused.is_some())
    }

    /// Whether the app is paused or quarantined: Resume has something to do.
    pub fn railed(&self) -> bool {
        self.paused() || self.rails.as_ref().is_some_and(AppRails::quarantined)
    }
}

/// The health of every installed app, by slug (blocking).
pub fn read_all(c: &Connection) -> Result<HashMap<String, AppHealth>, DbError> {
    let mut rails: HashMap<String, AppRails> = rails::all(c)?
        .into_iter()
        .map(|r| (r.app.clone(), r))
        .collect();
    Ok(overview::apps(c)?
        .into_iter()
        .map(|summary| {
            let health = AppHealth {
                rails: rails.remove(&summary.slug),
                summary,
            };
            (health.summary.slug.clone(), health)
        })
        .collect())
}

/// One app's health; `None` when it is not installed (blocking).
pub fn read_one(c: &Connection, app: &str) -> Result<Option<AppHealth>, DbError> {
    let Some(summary) = overview::apps(c)?.into_iter().find(|a| a.slug == app) else {
        return Ok(None);
    };
    Ok(Some(AppHealth {
        rails: rails::of(c, app)?,
        summary,
    }))
}

/// The badge of an app's card: one word, its colour.
pub fn badge(h: &AppHealth) -> Markup {
    let (text, class) = match h.word() {
        Word::Paused => ("paused", "warn"),
        Word::PausedRevocations => ("revocations held", "warn"),
        Word::Quarantined => ("quarantined", "bad"),
        Word::Unreachable => ("unreachable", "bad"),
        Word::Failing => ("failing", "bad"),
        Word::Working => ("working", "ok"),
        Word::Idle => ("nothing sent yet", "none"),
        Word::NoScim => return html! {},
    };
    html! { span class=(format!("badge health {class}")) { (text) } }
}

/// The banner at the top of an app's page: what state it is in, since when, and why.
pub fn banner(h: &AppHealth, name: &str, zone: &TimeZone) -> Markup {
    let s = &h.summary;
    let word = h.word();
    let class = match word {
        Word::Working | Word::Idle | Word::NoScim => "saved",
        Word::Paused | Word::PausedRevocations => "note",
        Word::Quarantined | Word::Unreachable | Word::Failing => "alert",
    };
    html! {
        div class=(format!("health-banner {class}")) role="status" {
            p {
                (badge(h)) " "
                @match word {
                    Word::Working => { (name) " is working: the last request succeeded " (when(s.last_success_at, zone)) "." },
                    Word::Idle => { "Nothing has been sent to " (name) " yet." },
                    Word::NoScim => { (name) " has no SCIM settings: accessboard keeps its roles but sends nothing to it." },
                    Word::Failing => { (name) " is failing since " (when(s.last_error_at, zone)) "." },
                    Word::Unreachable => {
                        (name) " does not answer: every request failed since "
                        (when(h.rails.as_ref().and_then(|r| r.failing_since), zone)) "."
                    },
                    Word::Quarantined => {
                        @let r = h.rails.as_ref();
                        (name) " is quarantined since " (when(r.and_then(|r| r.quarantined_at), zone)) ": "
                        (r.and_then(|r| r.quarantine_reason.as_deref()).unwrap_or("it failed"))
                        ". Its people wait; the next probe is " (when(r.and_then(|r| r.next_probe_at), zone)) "."
                    },
                    Word::Paused | Word::PausedRevocations => {
                        @let r = h.rails.as_ref();
                        (name)
                        @if word == Word::Paused { " is paused: nothing is sent to it" }
                        @else { " is paused for revocations: accounts are not disabled or deleted" }
                        " since " (when(r.and_then(|r| r.paused_at), zone))
                        ", by " (r.and_then(|r| r.paused_by.as_deref()).unwrap_or("unknown")) ". "
                        "Why: " (r.and_then(|r| r.pause_reason.as_deref()).unwrap_or("no reason given")) "."
                    },
                }
            }
            @if matches!(word, Word::Failing | Word::Unreachable | Word::Quarantined) {
                @if let Some(e) = &s.last_error { p.message { "Last error: " (crate::provisioning::engine::app_error(e)) } }
            }
        }
    }
}
