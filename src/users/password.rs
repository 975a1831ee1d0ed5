//! Password hashing for dashboard sign-in (argon2id).

use argon2::password_hash::{PasswordHasher, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The largest argon2 memory a stored hash may ask for (the default is 19 MiB): a hash
/// asking for more is refused rather than checked.
const MAX_MEMORY_KIB: u32 = 256 * 1024;

/// Hashes a new password; refuses one that is too short.
pub fn hash_password(password: &str) -> Result<String, String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// argon2's working memory, kept from one check to the next by a thread that checks
/// many: allocating 19 MiB per check let glibc keep the freed blocks of every thread
/// in its arenas (257 MB resident after a flood of 300 sign-ins).
#[derive(Default)]
pub struct Scratch(Vec<Block>);

/// Whether `password` matches the stored hash, computed in `scratch`.
pub fn verify_password_in(scratch: &mut Scratch, password: &str, hash: &str) -> bool {
    recompute(scratch, password, hash).is_some_and(|same| same)
}

/// `None` when the stored hash is not an argon2 hash this code can check.
fn recompute(scratch: &mut Scratch, password: &str, hash: &str) -> Option<bool> {
    let parsed = PasswordHash::new(hash).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    if params.m_cost() > MAX_MEMORY_KIB {
        return None;
    }
    let salt = parsed.salt?;
    let expected = parsed.hash?;
    let blocks = params.block_count();
    if scratch.0.len() < blocks {
        scratch.0.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut out,
            &mut scratch.0[..blocks],
        )
        .ok()?;
    // Constant time: how much matched must not show in how long it took.
    let diff = out
        .iter()
        .zip(expected.as_bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    Some(diff == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_scratch_checks_like_a_fresh_one() {
        let hash = hash_password("correct horse battery").unwrap();
        let mut scratch = Scratch::default();
        for _ in 0..3 {
            assert!(verify_password_in(
                &mut scratch,
                "correct horse battery",
                &hash
            ));
            assert!(!verify_password_in(
                &mut scratch,
                "correct horse batterY",
                &hash
            ));
        }
        assert!(verify_password_in(
            &mut Scratch::default(),
            "correct horse battery",
            &hash
        ));
        assert!(!verify_password_in(
            &mut scratch,
            "correct horse battery",
            "not a hash"
        ));
        assert!(!verify_password_in(
            &mut scratch,
            "correct horse battery",
            ""
        ));
        // Hashes made elsewhere with other parameters still check.
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 3, 1, None).unwrap(),
        )
        .hash_password(b"correct horse battery")
        .unwrap()
        .to_string();
        assert!(verify_password_in(
            &mut scratch,
            "correct horse battery",
            &other
        ));
        assert!(!verify_password_in(&mut scratch, "wrong", &other));
    }
}
