//! One-time messages after a change ("Ada Lovelace was added"): kept in the
//! session cookie by the handler that redirects, shown once by the next page. A change
//! that was held, not done, leaves a warning with a link to what holds it.

use actix_session::Session;
use maud::{Markup, html};

use super::WebError;

const KEY: &str = "flash";

/// A message left for the next page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    /// What to say.
    pub text: String,
    /// Said as a warning (a change held, not done) rather than as a success.
    #[serde(default)]
    pub warning: bool,
    /// Where to look next: (address, link text).
    #[serde(default)]
    pub link: Option<(String, String)>,
}

impl Flash {
    /// The message as the top of a page shows it.
    pub fn render(&self) -> Markup {
        html! {
            @if self.warning {
                p.note.flash role="status" {
                    (self.text)
                    @if let Some((href, label)) = &self.link { " " a href=(href) { (label) } }
                }
            } @else {
                p.saved.flash role="status" {
                    (self.text)
                    @if let Some((href, label)) = &self.link { " " a href=(href) { (label) } }
                }
            }
        }
    }
}

/// Leaves `text` for the next page this browser opens, as a success.
pub fn set(session: &Session, text: impl Into<String>) -> Result<(), WebError> {
    leave(
        session,
        Flash {
            text: text.into(),
            warning: false,
            link: None,
        },
    )
}

/// Leaves a warning for the next page: the change was held (or partly not done).
pub fn warn(
    session: &Session,
    text: impl Into<String>,
    link: Option<(String, String)>,
) -> Result<(), WebError> {
    leave(
        session,
        Flash {
            text: text.into(),
            warning: true,
            link,
        },
    )
}

fn leave(session: &Session, flash: Flash) -> Result<(), WebError> {
    session.insert(KEY, flash)?;
    Ok(())
}

/// The message left for this page, removed so that a reload does not repeat it.
pub fn take(session: &Session) -> Option<Flash> {
    let flash = session.get::<Flash>(KEY).ok().flatten()?;
    session.remove(KEY);
    Some(flash)
}
