//! What an on-demand trace shows of a call: the journal entry, and the JSON sent and
//! answered with secrets redacted and long documents cut.

use serde_json::Value;

use super::client::ScimCall;
use super::redact::Redactor;

/// The most characters of one body a trace keeps.
const MAX_BODY_CHARS: usize = 4_000;

/// One call as a trace shows it.
#[derive(Clone, Debug)]
pub struct TracedCall {
    /// The journal entry: operation, method, path, status, time, the app's words.
    pub call: ScimCall,
    /// The JSON sent, redacted; None without a body.
    pub sent: Option<String>,
    /// The JSON answered, redacted; None without one (or a listing read as it streamed).
    pub answer: Option<String>,
}

/// A body as a trace shows it: pretty JSON with secrets replaced (see [`Redactor`]), cut
/// when long.
pub(crate) fn shown(body: &[u8], redactor: &Redactor) -> Option<String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut doc) => {
            redactor.json(&mut doc);
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        }
        // Not ours to show: it may be anything, and it is not what SCIM speaks.
        Err(_) => return Some(format!("({} bytes that are not JSON)", body.len())),
    };
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    Some(match clean.char_indices().nth(MAX_BODY_CHARS) {
        Some((cut, _)) => format!(
            "{}\n… ({} characters in all)",
            &clean[..cut],
            clean.chars().count()
        ),
        None => clean,
    })
}

#[cfg(test)]
mod tests {
    use super::shown;
    use crate::scim::redact::Redactor;

    fn shown_plain(body: &[u8]) -> Option<String> {
        shown(body, &Redactor::default())
    }

    #[test]
    fn secrets_are_redacted_at_any_depth_and_long_bodies_cut() {
        let body = br#"{"userName":"ann","password":"hunter2","x":[{"apiKey":"k1","ok":1}],"urn:ext":{"accessToken":"t"}}"#;
        let text = shown_plain(body).unwrap();
        assert!(text.contains("\"userName\": \"ann\""), "{text}");
        for secret in ["hunter2", "k1", "\"t\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(text.matches("[redacted]").count(), 3);
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(10_000));
        assert!(
            shown_plain(long.as_bytes())
                .unwrap()
                .contains("characters in all")
        );
        assert_eq!(shown_plain(b"  "), None);
        assert_eq!(
            shown_plain(b"<html>"),
            Some("(6 bytes that are not JSON)".into())
        );
    }
}
