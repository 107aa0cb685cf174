//! The staff PIN: only its argon2 hash is ever stored.

use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("a PIN is 4 to 12 digits")]
    NotDigits,
    #[error("could not hash the PIN: {0}")]
    Hash(String),
}

/// The argon2id hash for the config's `staff_pin_hash`.
pub fn hash(pin: &str) -> Result<String, PinError> {
    if !(4..=12).contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(PinError::NotDigits);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::Hash(e.to_string()))
}

pub fn verify(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_hides_the_pin() {
        let h = hash("4711").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("4711"));
        assert!(verify("4711", &h));
        assert!(!verify("4712", &h));
        assert!(!verify("4711", "not a hash"));
        assert!(hash("12a4").is_err());
        assert!(hash("123").is_err());
    }
}
