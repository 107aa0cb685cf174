//! CPR numbers, for a municipality whose MitID broker sends them (issue
//! 16): custody holders' numbers come with the import, a parent's with the
//! login, and the two meet as an HMAC-SHA-256 under a secret read from a
//! file that is never in the database. The ledger keeps only that keyed
//! hash: never the number, in no table, log line or page. Without the
//! secret the hashes say nothing (a CPR number has only some 30 bits a
//! plain hash would hide), and a number is never `Debug`-printed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A CPR number: ten digits (`DDMMYYSSSS`), written with or without the
/// dash after the birth date.
#[derive(Clone, PartialEq, Eq)]
pub struct Cpr(String);

impl std::fmt::Debug for Cpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cpr(…)")
    }
}

impl Cpr {
    /// None for what is not ten digits (a dash after the sixth allowed).
    pub fn parse(text: &str) -> Option<Cpr> {
        let text = text.trim();
        let digits: String = match text.split_once('-') {
            Some((date, serial)) if date.len() == 6 => format!("{date}{serial}"),
            Some(_) => return None,
            None => text.to_string(),
        };
        (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Cpr(digits))
    }
}

/// The secret the hashes are keyed with.
#[derive(Clone)]
pub struct CprKey(Vec<u8>);

impl std::fmt::Debug for CprKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CprKey(…)")
    }
}

/// A custody holder's CPR number as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CprHash(pub Vec<u8>);

#[derive(Debug, thiserror::Error)]
pub enum CprKeyError {
    #[error("could not read the CPR secret {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the CPR secret {path} is shorter than 32 bytes: make one with `head -c 32 /dev/urandom > {path}`"
    )]
    Short { path: String },
}

impl CprKey {
    /// At least 32 bytes; a trailing line break is not part of it.
    pub fn new(secret: &[u8]) -> Option<CprKey> {
        let secret = secret.strip_suffix(b"\n").unwrap_or(secret);
        (secret.len() >= 32).then(|| CprKey(secret.to_vec()))
    }

    pub fn read(path: &std::path::Path) -> Result<CprKey, CprKeyError> {
        let shown = path.display().to_string();
        let secret = std::fs::read(path).map_err(|source| CprKeyError::Read {
            path: shown.clone(),
            source,
        })?;
        CprKey::new(&secret).ok_or(CprKeyError::Short { path: shown })
    }

    pub fn hash(&self, cpr: &Cpr) -> CprHash {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(cpr.0.as_bytes());
        CprHash(mac.finalize().into_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpr_number_reads_with_or_without_its_dash_and_never_prints() {
        let cpr = Cpr::parse("010190-1234").expect("a number");
        assert_eq!(Cpr::parse(" 0101901234 "), Some(cpr.clone()));
        for not in [
            "",
            "010190-123",
            "01019-01234",
            "0101901234x",
            "010190 1234",
            "٠١٠١٩٠١٢٣٤",
        ] {
            assert_eq!(Cpr::parse(not), None, "{not}");
        }
        assert!(!format!("{cpr:?}").contains("0101"));
    }

    #[test]
    fn the_hash_depends_on_the_secret() {
        let cpr = Cpr::parse("0101901234").unwrap();
        let one = CprKey::new(&[1; 32]).unwrap();
        let two = CprKey::new(&[2; 32]).unwrap();
        assert_eq!(one.hash(&cpr), one.hash(&cpr));
        assert_ne!(one.hash(&cpr), two.hash(&cpr));
        assert_eq!(one.hash(&cpr).0.len(), 32);
        assert!(CprKey::new(&[1; 31]).is_none());
        assert!(CprKey::new(b"0123456789abcdef0123456789abcdef\n").is_some());
    }
}
