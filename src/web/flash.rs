//! One-time messages after a change ("Ada Lovelace was added"): kept in the
//! session cookie by the handler that redirects, shown once by the next page.

use actix_session::Session;

use super::WebError;

const KEY: &str = "flash";

/// Leaves `text` for the next page this browser opens.
pub fn set(session: &Session, text: impl Into<String>) -> Result<(), WebError> {
    session.insert(KEY, text.into())?;
    Ok(())
}

/// The message left for this page, removed so that a reload does not repeat it.
pub fn take(session: &Session) -> Option<String> {
    let text = session.get::<String>(KEY).ok().flatten()?;
    session.remove(KEY);
    Some(text)
}
