//! Hostile input at the parsers: arbitrary strings at Email, Role and Slug. Every
//! test checks what is accepted and the message of what is refused, not only
//! that nothing panicked.

use accessboard::domain::{Email, Role, Slug};
use proptest::prelude::*;

/// A valid address: local part of address characters, a dotted domain, maybe
/// surrounded by whitespace (which is dropped).
fn valid_email() -> impl Strategy<Value = String> {
    (
        "[ \t]{0,2}",
        "[A-Za-z0-9._%+'=!#$&*/?^`{|}~-]{1,40}",
        prop::collection::vec("[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", 1..4),
        "[ \t\n]{0,2}",
    )
        .prop_map(|(pre, local, labels, post)| format!("{pre}{local}@{}{post}", labels.join(".")))
}

/// Flips the case of the ASCII letters where `mask` says so.
fn flip_case(s: &str, mask: &[bool]) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask.get(i % mask.len().max(1)).copied().unwrap_or(false) {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

fn hash_of(e: &Email) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    thread_local!(static STATE: RandomState = RandomState::new());
    STATE.with(|s| s.hash_one(e))
}

/// Control characters: C0, DEL, C1.
fn control_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        Just('\u{7f}'),
        (0x80u32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
    ]
}

/// Whitespace that may not appear inside an address.
fn inner_space() -> impl Strategy<Value = char> {
    prop::sample::select(vec![' ', '\u{a0}', '\u{2003}', '\u{3000}', '\u{2028}'])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_string_parses_or_is_refused_with_a_message(s in any::<String>()) {
        match Email::parse(&s) {
            Ok(e) => {
                let t = s.trim();
                prop_assert_eq!(e.as_str(), t, "display is the trimmed input as typed");
                prop_assert_eq!(e.to_string(), t);
                prop_assert_eq!(e.normalized(), t.to_lowercase());
                prop_assert!(t.len() <= 254);
                prop_assert_eq!(t.matches('@').count(), 1);
                prop_assert!(!t.chars().any(|c| c.is_whitespace() || c.is_control()));
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e, "parse(display(x)) == x");
            }
            Err(err) => {
                let msg = err.to_string();
                prop_assert!(msg.starts_with("email"), "{}", msg);
                prop_assert!(msg.chars().count() < 400, "the message stays short: {}", msg);
                prop_assert!(!msg.chars().any(char::is_control), "the message shows no raw control characters: {:?}", msg);
            }
        }
    }

    #[test]
    fn valid_addresses_round_trip_and_compare_without_case(raw in valid_email(), mask in prop::collection::vec(any::<bool>(), 1..16)) {
        let e = Email::parse(&raw).unwrap_or_else(|err| panic!("{raw:?} refused: {err}"));
        prop_assert_eq!(e.as_str(), raw.trim());
        prop_assert_eq!(e.normalized(), raw.trim().to_lowercase());
        let variant = flip_case(&raw, &mask);
        let v = Email::parse(&variant).unwrap();
        prop_assert_eq!(v.as_str(), variant.trim(), "each variant keeps its own case for display");
        prop_assert_eq!(&v, &e, "case variants are the same address");
        prop_assert_eq!(v.normalized(), e.normalized());
        prop_assert_eq!(hash_of(&v), hash_of(&e), "and hash alike");
        let again = Email::parse(&e.to_string()).unwrap();
        prop_assert_eq!(again.as_str(), e.as_str());
    }

    #[test]
    fn control_characters_inside_an_address_are_refused(raw in valid_email(), c in control_char(), at in any::<prop::sample::Index>()) {
        let t = raw.trim();
        let chars: Vec<char> = t.chars().collect();
        let i = 1 + at.index(chars.len() - 1); // strictly inside
        let bad: String = chars[..i].iter().chain([&c]).chain(&chars[i..]).collect();
        let err = Email::parse(&bad).expect_err(&format!("{bad:?} accepted"));
        let msg = err.to_string();
        prop_assert!(msg.contains("control character"), "{}", msg);
        prop_assert!(!msg.contains(c), "the message escapes the character: {:?}", msg);
    }

    #[test]
    fn spaces_inside_an_address_are_refused(raw in valid_email(), c in inner_space(), at in any::<prop::sample::Index>()) {
        let t = raw.trim();
        let chars: Vec<char> = t.chars().collect();
        let i = 1 + at.index(chars.len() - 1);
        let bad: String = chars[..i].iter().chain([&c]).chain(&chars[i..]).collect();
        let msg = Email::parse(&bad).expect_err(&format!("{bad:?} accepted")).to_string();
        prop_assert!(msg.contains("contains a space"), "{}", msg);
    }

    #[test]
    fn addresses_without_exactly_one_at_are_refused(raw in valid_email(), extra in any::<bool>()) {
        let t = raw.trim();
        let bad = if extra { format!("{t}@x.org") } else { t.replace('@', "") };
        let msg = Email::parse(&bad).expect_err(&format!("{bad:?} accepted")).to_string();
        prop_assert!(msg.contains("exactly one @"), "{}", msg);
    }

    #[test]
    fn addresses_over_254_bytes_are_refused(local in "[a-z]{1,64}", label in "[a-z]{1,63}", n in 0usize..200) {
        let mut domain = label.clone();
        while format!("{local}@{domain}").len() <= 254 + n {
            domain.push('.');
            domain.push_str(&label);
        }
        let bad = format!("{local}@{domain}");
        prop_assert!(bad.len() > 254);
        let msg = Email::parse(&bad).expect_err("over-long accepted").to_string();
        prop_assert!(msg.contains("longer than 254"), "{}", msg);
        prop_assert!(msg.chars().count() < 120, "the message does not repeat it all: {}", msg);
    }

    #[test]
    fn roles_are_exactly_admin_user_none(s in any::<String>()) {
        let expected = match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            "none" => Some(Role::None),
            _ => None,
        };
        match Role::parse(&s) {
            Ok(r) => prop_assert_eq!(Some(r), expected),
            Err(e) => {
                prop_assert_eq!(expected, None);
                prop_assert!(e.to_string().contains("is not one of admin, user, none"), "{}", e);
            }
        }
    }

    #[test]
    fn role_spellings_in_any_case_parse(word in prop::sample::select(vec!["admin", "user", "none"]), mask in prop::collection::vec(any::<bool>(), 1..6), pad in "[ \t]{0,2}") {
        let typed = format!("{pad}{}{pad}", flip_case(word, &mask));
        let r = Role::parse(&typed).unwrap();
        prop_assert_eq!(r.as_str(), word);
        prop_assert_eq!(Role::parse(&r.to_string()).unwrap(), r, "parse(display(x)) == x");
    }

    #[test]
    fn slugs_are_exactly_the_documented_shape(s in prop_oneof![any::<String>(), "[a-z0-9_-]{0,70}", "[a-zA-Z0-9_ ./-]{1,10}"]) {
        let shape = !s.is_empty()
            && s.len() <= 63
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && !s.starts_with(['-', '_']);
        match Slug::parse(&s) {
            Ok(slug) => {
                prop_assert!(shape, "{:?} accepted", s);
                prop_assert_eq!(slug.as_str(), s.as_str());
                prop_assert_eq!(Slug::parse(&slug.to_string()).unwrap(), slug);
            }
            Err(e) => {
                prop_assert!(!shape, "{:?} refused", s);
                prop_assert!(e.to_string().contains("must be 1-63 lowercase letters"), "{}", e);
            }
        }
    }
}

#[test]
fn roles_and_slugs_round_trip() {
    for r in [Role::Admin, Role::User, Role::None] {
        assert_eq!(Role::parse(r.as_str()).unwrap(), r);
    }
    for s in ["a", "0", "files", "zulip-2", "x_y", &"z".repeat(63)] {
        assert_eq!(Slug::parse(s).unwrap().to_string(), s);
    }
}

#[test]
fn bidi_overrides_and_invisible_characters_in_addresses_are_refused() {
    // U+202E turns "evil@example.org" into what reads as a different address.
    for c in [
        '\u{202E}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200E}',
        '\u{200F}', '\u{061C}', '\u{200B}', '\u{FEFF}',
    ] {
        let bad = format!("ann{c}gro@example.org");
        let msg = Email::parse(&bad)
            .expect_err(&format!("{bad:?} accepted"))
            .to_string();
        assert!(msg.contains("invisible"), "{msg}");
        assert!(!msg.contains(c), "the message escapes it: {msg:?}");
    }
    // emoji and non-Latin letters are ordinary characters
    assert_eq!(
        Email::parse("😀@example.org").unwrap().as_str(),
        "😀@example.org"
    );
    assert_eq!(
        Email::parse("jörg@bücher.de").unwrap().as_str(),
        "jörg@bücher.de"
    );
}

#[test]
fn email_messages_name_the_actual_problem() {
    let msg = |s: &str| Email::parse(s).unwrap_err().to_string();
    assert!(
        msg("<script>alert(1)</script>@example.org").contains("not allowed in an address"),
        "{}",
        msg("<script>alert(1)</script>@example.org")
    );
    assert!(msg("\"q\"@example.org").contains("not allowed in an address"));
    let long_local = format!("{}@example.org", "a".repeat(65));
    assert!(
        msg(&long_local).contains("more than 64 bytes before the @"),
        "{}",
        msg(&long_local)
    );
    assert!(msg("bob").contains("exactly one @"));
    assert!(msg("a b@x.org").contains("contains a space"));
}
