//! Sorting people as a reader expects: the Unicode Collation Algorithm with
//! the root locale (CLDR's default order), so "Édouard" sorts beside "Edward",
//! not after "Zoë" as raw bytes would.
//!
//! Sorting 10,000 rows per request would be too slow for the people list, so
//! the list orders by a *sort key* stored beside the name: bytes that compare
//! like the collator does. Keys depend on the collation data's version, which
//! [`VERSION`] names; a change of version rewrites the stored keys at start.

use std::sync::LazyLock;

use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed, CollatorPreferences};

/// Names the collation the stored keys were made with; change it with the ICU4X data.
pub const VERSION: &str = "icu4x-2.4 root tertiary";

/// The collation data could not be loaded (it is compiled in, so only a broken build).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the Unicode collation data cannot be loaded: {0}")]
pub struct CollationError(String);

static ROOT: LazyLock<Result<CollatorBorrowed<'static>, CollationError>> = LazyLock::new(|| {
    Collator::try_new(CollatorPreferences::default(), CollatorOptions::default())
        .map_err(|e| CollationError(e.to_string()))
});

/// The sort key of `text` under the root collation: comparing keys as bytes
/// orders the texts as the collator would.
pub fn sort_key(text: &str) -> Result<Vec<u8>, CollationError> {
    let collator = ROOT.as_ref().map_err(Clone::clone)?;
    let mut key = Vec::with_capacity(text.len() * 3);
    // Writing into a Vec cannot fail (its error type is Infallible).
    let Ok(()) = collator.write_sort_key_to(text, &mut key);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::sort_key;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<(Vec<u8>, String)> = names
            .iter()
            .map(|n| (sort_key(n).unwrap(), (*n).to_owned()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    }

    #[test]
    fn accents_and_case_sort_beside_their_letters() {
        assert_eq!(
            sorted(&["Rita", "Édouard", "zoë", "Edward", "ada", "Åsa"]),
            ["ada", "Åsa", "Édouard", "Edward", "Rita", "zoë"]
        );
    }
}
