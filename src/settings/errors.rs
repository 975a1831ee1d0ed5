//! Settings errors in one line that names the key and never repeats a value.

use super::SettingsError;

/// "… is not an http(s) URL", quoting the text only when it cannot hold a secret: user
/// info (`@`), a query (`?apikey=`) or a fragment may carry one.
pub fn not_a_url(raw: &str) -> String {
    if raw.contains(['@', '?', '#']) || raw.chars().count() > 200 {
        "is not an http(s) URL".into()
    } else {
        format!("{raw:?} is not an http(s) URL")
    }
}

/// One line naming the key; never the value, which may be a secret.
pub(super) fn describe_figment_error(e: figment::Error) -> SettingsError {
    use figment::error::Kind;
    let key = if e.path.is_empty() {
        None
    } else {
        Some(e.path.join("."))
    };
    let what = match &e.kind {
        Kind::UnknownField(field, _) => {
            let full = match &key {
                Some(k) if !k.ends_with(field.as_str()) => format!("{k}.{field}"),
                Some(k) => k.clone(),
                None => field.clone(),
            };
            return SettingsError(format!("unknown setting {full}{}", source_of(&e)));
        }
        Kind::MissingField(field) => {
            let full = match &key {
                Some(k) => format!("{k}.{field}"),
                None => field.to_string(),
            };
            return SettingsError(format!("setting {full} is required{}", source_of(&e)));
        }
        // The value itself is never repeated: it may be a secret (a numeric `token`).
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("expected {expected}, found {}", kind_of(actual))
        }
        // A TOML syntax error quotes the offending line, which may hold a secret.
        Kind::Message(m) => without_quoted_source(m),
        other => other.to_string(),
    };
    match key {
        Some(k) => SettingsError(format!("setting {k}: {what}{}", source_of(&e))),
        None => SettingsError(format!("settings: {what}{}", source_of(&e))),
    }
}

/// What sort of value was found, without the value.
fn kind_of(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "true or false",
        Actual::Unsigned(_) | Actual::Signed(_) => "a number",
        Actual::Float(_) => "a decimal number",
        Actual::Char(_) | Actual::Str(_) => "text",
        Actual::Bytes(_) => "bytes",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "another kind of value",
    }
}

fn source_of(e: &figment::Error) -> String {
    match &e.metadata {
        Some(m) => match &m.source {
            Some(src) => format!(" (in {src})"),
            None => format!(" (from {})", m.name),
        },
        None => String::new(),
    }
}

/// A parser message without the lines that quote the file (` 7 | token = …`, `  ^`).
fn without_quoted_source(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains('|') && !l.starts_with('^'))
        .collect::<Vec<_>>()
        .join(": ")
}
