//! The staff PIN: only its argon2 hash is ever stored.

use std::io::{BufRead, IsTerminal};

use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("a PIN is 4 to 12 digits")]
    NotDigits,
    #[error("could not hash the PIN: {0}")]
    Hash(String),
    #[error("the two PINs differ")]
    Differ,
    #[error("could not read the PIN: {0}")]
    Read(std::io::Error),
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

/// Reads the PIN twice without echo at a terminal, once from a pipe.
pub fn read_new_pin() -> Result<String, PinError> {
    if std::io::stdin().is_terminal() {
        let pin =
            rpassword::prompt_password("New staff PIN (4–12 digits): ").map_err(PinError::Read)?;
        let again = rpassword::prompt_password("The same PIN again: ").map_err(PinError::Read)?;
        if pin != again {
            return Err(PinError::Differ);
        }
        Ok(pin)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(PinError::Read)?;
        Ok(line.trim().to_string())
    }
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
