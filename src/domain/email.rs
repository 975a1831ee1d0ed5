//! E-mail addresses: validated once, compared without regard to case.

use std::fmt;

/// Why a string is not an acceptable e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email is empty")]
    Empty,
    #[error("email {0:?} is longer than 254 characters")]
    TooLong(String),
    #[error("email {0:?} needs exactly one @ with text on both sides")]
    Shape(String),
    #[error(
        "email {0:?} contains a space, a control character or an invisible formatting character"
    )]
    BadCharacter(String),
    #[error(
        "email {0:?} contains a character not allowed in an address: < > ( ) [ ] , ; : \" or \\"
    )]
    NotAllowed(String),
    #[error("email {0:?} has more than 64 bytes before the @")]
    LocalTooLong(String),
    #[error("email {0:?} has an invalid domain")]
    BadDomain(String),
}

/// An e-mail address as the admin typed it (trimmed); equality ignores case.
#[derive(Clone, Eq)]
pub struct Email {
    display: String,
    normalized: String,
}

impl Email {
    /// Parses and validates an address; surrounding whitespace is dropped.
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        // RFC 5321 caps a path at 256 octets including the angle brackets.
        if s.len() > 254 {
            return Err(EmailError::TooLong(truncate(s)));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
        {
            return Err(EmailError::BadCharacter(s.to_owned()));
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::Shape(s.to_owned()));
        };
        if local.is_empty() || domain.is_empty() {
            return Err(EmailError::Shape(s.to_owned()));
        }
        if local.len() > 64 {
            return Err(EmailError::LocalTooLong(s.to_owned()));
        }
        if local.chars().any(|c| {
            matches!(
                c,
                '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '"' | '\\'
            )
        }) {
            return Err(EmailError::NotAllowed(s.to_owned()));
        }
        let domain_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !domain_ok {
            return Err(EmailError::BadDomain(s.to_owned()));
        }
        Ok(Email {
            display: s.to_owned(),
            normalized: s.to_lowercase(),
        })
    }

    /// The address as entered, for display and for the apps.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The lower-cased form used for uniqueness and lookups.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.display.split('@').next().unwrap_or_default()
    }
}

/// Bidirectional controls and invisible spaces: they make an address look like
/// another one (after U+202E the rest reads backwards). Joiners (U+200C, U+200D)
/// stay allowed: some scripts and emoji need them.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

fn truncate(s: &str) -> String {
    s.chars().take(40).chain("…".chars()).collect()
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl std::hash::Hash for Email {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.normalized.hash(state)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.display)
    }
}

impl std::str::FromStr for Email {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_case_for_display_but_compares_without_it() {
        let a = Email::parse(" Bob@Example.org ").unwrap();
        let b = Email::parse("bob@example.ORG").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "Bob@Example.org");
        assert_eq!(a.normalized(), "bob@example.org");
        assert_eq!(a.local_part(), "Bob");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "bob",
            "@x.org",
            "bob@",
            "a@b@c",
            "bo b@x.org",
            "bob@-x.org",
            "bob@x..org",
            "<b>@x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@x.org", "a".repeat(300))).is_err());
    }

    #[test]
    fn accepts_plus_addressing_and_unicode_domains() {
        assert!(Email::parse("bob+tag@example.org").is_ok());
        assert!(Email::parse("jörg@bücher.de").is_ok());
        assert!(Email::parse("admin@localhost").is_ok());
    }
}
