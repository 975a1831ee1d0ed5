//! App identifiers.

use std::fmt;

/// An app's short identifier: lowercase letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

/// A string that cannot be an app slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "app slug {0:?} must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit"
)]
pub struct SlugError(pub String);

/// The CSV import's own columns: no app may be called so.
pub const RESERVED_SLUGS: [&str; 5] = ["email", "name", "dashboard_admin", "admin", "groups"];

impl Slug {
    /// Parses a slug; no case folding, so the settings and the CLI agree exactly.
    pub fn parse(raw: &str) -> Result<Slug, SlugError> {
        let ok = !raw.is_empty()
            && raw.len() <= 63
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Slug(raw.to_owned()))
        } else {
            Err(SlugError(raw.to_owned()))
        }
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the slug is a column name of the CSV import, which no app may take.
    pub fn is_reserved(&self) -> bool {
        RESERVED_SLUGS.contains(&self.0.as_str())
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Slug {
    type Err = SlugError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Slug::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Slug {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_simple_slugs_and_refuses_the_rest() {
        for good in ["nextcloud", "zulip-2", "a", "files_1"] {
            assert!(Slug::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Nextcloud", "-x", "a b", "a/b", "ä", &"x".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
