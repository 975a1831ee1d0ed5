//! Posting an alert to a webhook, as accessboard's JSON or as a Slack-compatible `{"text"}`.

use std::time::Duration;

use serde_json::json;

use super::SendError;
use crate::db::alerts::{Message, MessageState};
use crate::secret::Secret;
use crate::settings::WebhookFormat;

/// A webhook channel: the URL (a secret) and the payload format.
pub struct Webhook {
    url: Secret,
    format: WebhookFormat,
    client: reqwest::Client,
}

impl Webhook {
    /// A webhook posting with `timeout` per request and no redirects.
    pub fn new(url: Secret, format: WebhookFormat, timeout: Duration) -> Result<Webhook, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect could carry the payload somewhere the admin did not name.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.without_url().to_string())?;
        Ok(Webhook {
            url,
            format,
            client,
        })
    }

    /// Posts `message`; 2xx is success, anything else an error that never names the URL.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let body = payload(self.format, message);
        let answer = self
            .client
            .post(self.url.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::new(describe(&e), &[self.url.expose()]))?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::new(format!("answered HTTP {status}"), &[]))
        }
    }
}

/// What a request error says, without the URL reqwest would put in it.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "did not answer in time".into();
    }
    let mut text = if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    // The innermost cause is the useful part ("Connection refused (os error 111)").
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(why) = last {
        text.push_str(&format!(" ({why})"));
    }
    text
}

/// The body posted for `message`.
pub fn payload(format: WebhookFormat, message: &Message) -> serde_json::Value {
    match format {
        WebhookFormat::Json => json!({
            "source": "accessboard",
            "kind": if message.state == MessageState::Test { "test" } else { message.kind.as_str() },
            "state": message.state.as_str(),
            "app": message.app.as_ref().map(|a| a.as_str()),
            "title": message.title,
            "text": message.body,
            "at": crate::db::time::rfc3339(message.at),
        }),
        WebhookFormat::Slack => json!({
            "text": format!("*{}*\n{}", slack_escape(&message.title), slack_escape(&message.body)),
        }),
    }
}

/// Slack's three escapes (so a name like `<!channel>` is text, not a mention), and no
/// `@channel`-style mention from a person's name in the apps that read those.
fn slack_escape(text: &str) -> String {
    let mut out = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    for word in ["channel", "here", "all", "everyone"] {
        out = out.replace(&format!("@{word}"), &format!("@\u{200B}{word}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertKind, Slug};

    fn message() -> Message {
        Message {
            kind: AlertKind::PairsFailed,
            app: Some(Slug::parse("files").unwrap()),
            state: MessageState::Raised,
            title: "Files: 1 person failed".into(),
            body: "- <!channel> & @here (x@all.org)".into(),
            at: 0,
        }
    }

    #[test]
    fn json_carries_kind_state_and_app() {
        let p = payload(WebhookFormat::Json, &message());
        assert_eq!(p["kind"], "pairs_failed");
        assert_eq!(p["state"], "raised");
        assert_eq!(p["app"], "files");
        assert_eq!(p["at"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn slack_text_mentions_nobody() {
        let p = payload(WebhookFormat::Slack, &message());
        let text = p["text"].as_str().unwrap();
        assert!(text.starts_with("*Files: 1 person failed*\n"), "{text}");
        assert!(
            text.contains("&lt;!channel&gt; &amp; @\u{200B}here"),
            "{text}"
        );
        assert_eq!(
            p.as_object().unwrap().len(),
            1,
            "only text: every Slack-compatible hook takes it"
        );
    }
}
